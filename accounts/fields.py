"""Model fields that keep their value encrypted in the database."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts import crypto


class EncryptedTextField(models.TextField):
    """Text stored Fernet-encrypted; Python code sees plaintext, the database ciphertext."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
