"""Wire the demo MSP to the local Azure simulator: app registration, customer tenants, config.

``make run`` calls this before starting the processes. It is idempotent: tenants that
exist are kept. It writes ``var/azuresim/demo.json`` (the simulator's tenants, each with
a seeded estate, and a mutator that changes resources on a timer, so drift appears by
itself) and makes sure the simulator's CA exists so the workers can trust it from the
first request.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants import services
from tenants.models import Tenant

DEMO_NAMESPACE = uuid.UUID("6d1f3c1e-5b7a-4f7e-9a51-2f6f4c0d9e10")
DEMO_CLIENT_ID = str(uuid.uuid5(DEMO_NAMESPACE, "msp-demo-app"))
DEMO_CLIENT_SECRET = "demo-secret-for-the-local-simulator"  # noqa: S105 - only valid against azuresim
DEMO_MSP_TENANT_ID = str(uuid.uuid5(DEMO_NAMESPACE, "msp-own-entra-tenant"))


def demo_web_origins(web_addr: str | None = None) -> list[str]:
    """Where the demo's web server answers (``WEB_ADDR``, default 127.0.0.1:8000), as the
    origins of the demo app's redirect URIs: a loopback address also as ``localhost``."""
    addr = web_addr or os.environ.get("WEB_ADDR") or "127.0.0.1:8000"
    host, _, port = addr.rpartition(":")
    if not host:
        host, port = "127.0.0.1", addr
    hosts = [host]
    if host in ("127.0.0.1", "localhost", "0.0.0.0"):  # noqa: S104 - a name, not a bind
        hosts = ["127.0.0.1", "localhost"]
    return [f"http://{name}:{port}" for name in hosts]


DEMO_TENANTS = [
    ("Contoso", "contoso", 2, 400),
    ("Fabrikam", "fabrikam", 1, 250),
    ("Northwind Traders", "northwind", 3, 600),
]


def demo_tenant_id(slug: str) -> str:
    """The fixed Entra tenant id of a demo customer."""
    return str(uuid.uuid5(DEMO_NAMESPACE, slug))


class Command(BaseCommand):
    help = "Create the demo customer tenants and the simulator config for `make run`."

    def add_arguments(self, parser: Any) -> None:
        default_state_dir = Path(settings.BASE_DIR) / "var" / "azuresim"
        parser.add_argument("--state-dir", default=str(default_state_dir))
        parser.add_argument("--poll-minutes", type=int, default=60)
        parser.add_argument("--watch-seconds", type=int, default=15)
        parser.add_argument("--mutate-every", type=float, default=20.0)

    def handle(self, *args: Any, **options: Any) -> None:
        from azuresim.tls import prepare_tls

        state_dir = Path(options["state_dir"])
        prepare_tls(state_dir, ["127.0.0.1"])
        credential = services.save_azure_credential(
            name="MSP demo app (simulator)",
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
        )
        sim_tenants = []
        for index, (name, slug, subscriptions, resources) in enumerate(DEMO_TENANTS, start=1):
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = services.onboard_tenant(
                    name=name,
                    slug=slug,
                    azure_tenant_id=demo_tenant_id(slug),
                    azure_credential=credential,
                    actor="setup_demo",
                    settings_overrides={
                        "polling_settings": {
                            "enabled": True,
                            "interval_minutes": options["poll_minutes"],
                            "watch_interval_seconds": options["watch_seconds"],
                            "page_size": 1000,
                        }
                    },
                )
                self.stdout.write(f"  onboarded demo tenant {name} at /t/{slug}/")
            elif tenant.azure_credential_id is None:
                tenant.azure_credential = credential
                tenant.save(update_fields=["azure_credential"])
            self._demo_notifications(tenant)
            sim_tenants.append(
                {
                    "name": name,
                    "tenant_id": tenant.azure_tenant_id,
                    "client_id": DEMO_CLIENT_ID,
                    "client_secret": DEMO_CLIENT_SECRET,
                    "subscriptions": subscriptions,
                    "resources": resources,
                    "seed": index,
                }
            )
        config = {
            # Changes reach Resource Graph's resourcechanges table 5 s after a write.
            "options": {"throttling": "headers", "changes_lag": 5},
            "tenants": sim_tenants,
            **self._sign_in_config(),
            "mutator": {"interval": options["mutate_every"], "batch": 2, "seed": 7},
        }
        (state_dir / "demo.json").write_text(json.dumps(config, indent=2))
        self.stdout.write(f"  simulator config: {state_dir / 'demo.json'}")

    def _demo_notifications(self, tenant: Tenant) -> None:
        """Channels of every kind pointing at the local inbox (DEMO_INBOX_URL), and a rule."""
        from django_tenants.utils import tenant_context

        from notifications.demo import create_demo_notifications

        inbox = settings.DEMO_INBOX_URL
        with tenant_context(tenant):
            if create_demo_notifications(inbox_url=inbox, slug=tenant.slug):
                self.stdout.write(f"  demo notifications of {tenant.slug} go to {inbox}/")

    def _sign_in_config(self) -> dict[str, Any]:
        """The Entra app registration and directory users for "Sign in with Microsoft",
        plus a local customer user per demo tenant (passwords in var/demo-users.txt)."""
        import secrets

        from accounts.models import User
        from accounts.services import create_customer_user, mark_email_verified

        client_id = settings.ENTRA_CLIENT_ID
        msp_tid = settings.ENTRA_MSP_TENANT_ID or DEMO_MSP_TENANT_ID
        if not client_id:
            return {}
        callback = "/oauth/complete/azuread-v2-tenant-oauth2/"
        users = [
            {
                "tenant_id": msp_tid,
                "email": "admin@msp.example",
                "given_name": "MSP",
                "family_name": "Admin",
            }
        ]
        lines = []
        for name, slug, _, _ in DEMO_TENANTS:
            tenant = Tenant.objects.get(slug=slug)
            email = f"viewer@{slug}.example"
            username = f"{slug}-viewer"
            if not User.objects.filter(username=username).exists():
                password = secrets.token_urlsafe(12)
                user = create_customer_user(tenant, username, email, password)
                mark_email_verified(user)
                lines.append(f"{username} {password}")
            users.append(
                {
                    "tenant_id": tenant.azure_tenant_id,
                    "email": email,
                    "given_name": name,
                    "family_name": "Viewer",
                }
            )
        if lines:
            path = Path(settings.BASE_DIR) / "var" / "demo-users.txt"
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            path.chmod(0o600)
            self.stdout.write(f"  demo customer users (username password): {path}")
        return {
            "apps": [
                {
                    "client_id": client_id,
                    "client_secret": settings.SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_SECRET,
                    "redirect_uris": [origin + callback for origin in demo_web_origins()],
                    # As the README's app registration guide configures them.
                    "optional_claims": ["email", "given_name", "family_name"],
                }
            ],
            "users": users,
        }
