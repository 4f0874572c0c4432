"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

Run after putting a new key first (old keys kept after it); afterwards the old keys can
be dropped. Covers every EncryptedTextField of the shared models and the MFA secrets.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services import rotate_stored_secrets


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (OAuth tokens, Azure secrets, MFA) with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        for label, count in rotate_stored_secrets().items():
            self.stdout.write(f"{label}: re-encrypted {count} row(s)")
