"""Small helpers shared by the drift tests."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from configurations.models import Configuration
from drift import services
from drift.models import DriftFinding


def in_schema(tenant, fn):
    """Run ``fn`` with the connection in ``tenant``'s schema and return its result."""
    with tenant_context(tenant):
        return fn()


def detect(tenant, *, full=False):
    """One detection pass of ``tenant`` (its report); ``full`` compares every resource."""
    return in_schema(tenant, lambda: services.run_detection(tenant, actor="test", full=full))


def open_findings(tenant):
    """Open and acknowledged findings of ``tenant``."""
    return in_schema(
        tenant, lambda: list(DriftFinding.objects.filter(status__in=services.UNRESOLVED))
    )


def weaken_storage_tls(tenant, collect, sim_client) -> tuple[str, str | None, str]:
    """Lower a storage account's minimum TLS version in the simulator and collect;
    returns (its resource id, the original version, the weak one)."""
    storage = in_schema(
        tenant,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.storage/storageaccounts"
        ).first(),
    )
    original = storage.config_data["properties"].get("minimumTlsVersion")
    weak = "TLS1_1" if original == "TLS1_0" else "TLS1_0"
    sim_client.modify_resource(storage.resource_id, {"properties": {"minimumTlsVersion": weak}})
    collect(tenant)
    return storage.resource_id, original, weak
