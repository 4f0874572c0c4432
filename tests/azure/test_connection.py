"""Credentials and subscriptions through the access layer (real SDKs, simulator behind)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from driftdetector.azure import (
    AzureAuthError,
    AzureEndpoints,
    CallStats,
    connect,
    endpoints_from_settings,
    list_subscriptions,
    make_credential,
)
from driftdetector.azure.endpoints import PUBLIC_ARM


def test_credential_factory_gets_token_from_simulator(endpoints, make_tenant):
    tenant = make_tenant()
    cred = make_credential(
        tenant["tenant_id"], tenant["client_id"], endpoints, client_secret=tenant["client_secret"]
    )
    assert cred.get_token(endpoints.arm_scope).token.count(".") == 2


def test_list_subscriptions_follows_next_link(connect_to, make_tenant):
    tenant = make_tenant(subscriptions=5, resources=10)
    conn = connect_to(tenant)
    subs = list_subscriptions(conn)
    assert sorted(s.subscription_id for s in subs) == sorted(tenant["subscription_ids"])
    assert all(s.display_name and s.state == "Enabled" for s in subs)
    assert conn.stats.arm_calls == 3  # page size 2 in the test simulator


def test_wrong_secret_is_a_clear_auth_error(connect_to, make_tenant):
    tenant = make_tenant()
    conn = connect_to(tenant, client_secret="wrong")
    with pytest.raises(AzureAuthError) as info:
        list_subscriptions(conn)
    assert "AADSTS7000215" in info.value.message
    assert "Trace ID" not in info.value.message


def test_unknown_client_and_unknown_tenant_are_auth_errors(connect_to, make_tenant):
    tenant = make_tenant()
    with pytest.raises(AzureAuthError) as info:
        list_subscriptions(connect_to({**tenant, "client_id": str(uuid.uuid4())}))
    assert "AADSTS700016" in info.value.message
    with pytest.raises(AzureAuthError):
        list_subscriptions(connect_to({**tenant, "tenant_id": str(uuid.uuid4())}))


def test_secret_or_certificate_is_required(endpoints):
    with pytest.raises(ValueError):
        connect(str(uuid.uuid4()), str(uuid.uuid4()), endpoints)


def test_endpoints_defaults_and_public_cloud_detection(endpoints):
    public = AzureEndpoints()
    assert public.is_public_cloud and public.arm_scope == PUBLIC_ARM + "/.default"
    assert public.verify is True
    assert not endpoints.is_public_cloud and endpoints.verify == endpoints.ca_bundle


def test_endpoints_from_settings():
    django = pytest.importorskip("django")
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:
        settings.configure()
    assert django
    with override_settings(
        AZURE_AUTHORITY_HOST="https://127.0.0.1:9",
        AZURE_ARM_ENDPOINT="https://127.0.0.1:9",
        AZURE_GRAPH_ENDPOINT="https://127.0.0.1:9",
        AZURE_CA_BUNDLE="/tmp/ca.pem",
    ):
        found = endpoints_from_settings()
    assert found.arm_endpoint == "https://127.0.0.1:9" and found.ca_bundle == "/tmp/ca.pem"
    with override_settings(AZURE_CA_BUNDLE=None, AZURE_ARM_ENDPOINT=None):
        assert endpoints_from_settings().arm_endpoint == PUBLIC_ARM


def test_stats_snapshot_is_plain():
    stats = CallStats()
    stats.record_call("graph")
    stats.record_wait(1.5)
    stats.record_wait(0)
    assert stats.snapshot() == {
        "calls": 1,
        "graph_calls": 1,
        "arm_calls": 0,
        "retries": 0,
        "throttle_waits": 1,
        "throttle_wait_seconds": 1.5,
    }
    assert dataclasses.is_dataclass(stats)
