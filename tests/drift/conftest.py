"""Fixtures of the drift tests."""

from __future__ import annotations

import pytest

from tests.drift.helpers import detect


@pytest.fixture
def collected(tenant_a, azure_tenant, collect):
    """Tenant A collected once from a fresh simulated estate, with its first baseline."""
    azure_tenant(tenant_a, resources=80, subscriptions=1)
    collect(tenant_a)
    report = detect(tenant_a)
    assert report.opened == 0, "the first detection makes the present state the baseline"
    return tenant_a
