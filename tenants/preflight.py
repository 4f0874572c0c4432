"""The Azure preflight of a tenant: the same checks for the command and the admin action."""

from __future__ import annotations

from driftdetector.azure import clients as azure_clients
from driftdetector.azure.endpoints import endpoints_from_settings
from driftdetector.azure.preflight import PreflightReport, run_preflight
from tenants.models import Tenant

# The admin action runs synchronously; more tenants belong in the command.
MAX_ADMIN_TENANTS = 5


class PreflightConfigError(RuntimeError):
    """The tenant cannot be checked as configured (no Azure credential)."""


# Short retries and throttle waits: a preflight reports throttling instead of sitting it out.
PREFLIGHT_OPTIONS = azure_clients.ClientOptions(
    retry_total=1, retry_backoff_factor=0.2, read_timeout=30.0, max_throttle_wait=5.0
)


def azure_preflight(*, tenant: Tenant) -> PreflightReport:
    """Check that the tenant's app registration can read everything a pass reads.

    Uses a fresh connection (no cached token) so a just-rotated secret is what is tested.
    """
    credential = tenant.azure_credential
    if credential is None:
        raise PreflightConfigError(
            f"tenant {tenant.slug} has no Azure credential; choose one on the tenant"
        )
    conn = azure_clients.connect(
        tenant.azure_tenant_id,
        credential.client_id,
        endpoints_from_settings(),
        client_secret=credential.client_secret or None,
        certificate_pem=credential.certificate_pem or None,
        options=PREFLIGHT_OPTIONS,
    )
    try:
        return run_preflight(conn)
    finally:
        conn.close()
