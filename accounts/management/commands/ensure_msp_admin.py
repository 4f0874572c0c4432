"""Create the MSP admin login if it does not exist, and say how to sign in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import ensure_msp_admin


class Command(BaseCommand):
    help = "Create the MSP admin user if absent; print the URL and the login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("MSP_ADMIN_USERNAME", "admin"))
        parser.add_argument(
            "--email", default=os.environ.get("MSP_ADMIN_EMAIL", "admin@msp.example")
        )
        web_addr = os.environ.get("WEB_ADDR", "127.0.0.1:8000").replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        parser.add_argument("--url", default=os.environ.get("PUBLIC_URL", f"http://{web_addr}"))

    def handle(self, *args: Any, **options: Any) -> None:
        password_file = Path(settings.BASE_DIR) / "var" / "msp-admin-password.txt"
        user, password = ensure_msp_admin(
            options["username"], options["email"], os.environ.get("MSP_ADMIN_PASSWORD") or None
        )
        if password is not None:
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        self.stdout.write(
            f"\n  Azure Drift Detector: {options['url']}/admin/\n"
            f"  Sign in as '{user.username}' with the password in {password_file}\n"
        )
