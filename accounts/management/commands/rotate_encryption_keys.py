"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

Run after putting a new key first (old keys kept after it); afterwards the old keys can
be dropped. Covers every EncryptedTextField of every installed shared model.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (OAuth tokens, Azure client secrets) with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields or model._meta.app_label not in {"accounts", "tenants"}:
                continue
            count = 0
            with transaction.atomic():
                for obj in model.objects.select_for_update().only("pk", *fields):
                    # Reading decrypts with any configured key; saving encrypts with the first.
                    obj.save(update_fields=fields)
                    count += 1
            self.stdout.write(
                f"{model._meta.label}: re-encrypted {', '.join(fields)} of {count} row(s)"
            )
