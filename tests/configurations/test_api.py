"""Tenant API and tenant admin over collected configuration: content, filters, isolation."""

from __future__ import annotations

import pytest
from django.db import connection

from configurations.models import ConfigurationHistory

pytestmark = pytest.mark.django_db

SECRET_ID = (
    "/subscriptions/aaaa/resourcegroups/rg-secret/providers/microsoft.keyvault/vaults/kv-secret-ü"
)


@pytest.fixture
def stored_resource(tenant_a, stored_resource_in):
    """One resource with a change and a poll run in tenant A's schema."""
    config = stored_resource_in(tenant_a, group="rg-secret", name="kv-secret-ü").configuration
    assert config.resource_id == SECRET_ID
    return config


TENANT_DATA_URLS = [
    "/t/{slug}/api/v1/configurations/",
    "/t/{slug}/api/v1/configurations/?type=microsoft.keyvault/vaults",
    "/t/{slug}/api/v1/configurations/{pk}/",
    "/t/{slug}/api/v1/configurations/{pk}/history/",
    "/t/{slug}/api/v1/poll-runs/",
    "/t/{slug}/admin/",
    "/t/{slug}/admin/configurations/configuration/",
    "/t/{slug}/admin/configurations/configuration/{pk}/change/",
    "/t/{slug}/admin/configurations/configurationhistory/",
    "/t/{slug}/admin/configurations/pollrun/",
]


@pytest.mark.parametrize("url", TENANT_DATA_URLS)
def test_collected_data_is_isolated_between_tenants(
    assert_isolated, url, tenant_a, msp_engineer, customer_b, stored_resource
):
    assert_isolated(
        url.replace("{pk}", str(stored_resource.pk)),
        tenant=tenant_a,
        owner=msp_engineer,
        intruder=customer_b,
        secrets=("kv-secret", "alice@contoso.com"),
    )


def test_api_lists_resources_with_tenant_identity_and_filters(
    client_for, customer_a, tenant_a, stored_resource
):
    client = client_for(customer_a)
    body = client.get(
        f"/t/{tenant_a.slug}/api/v1/configurations/?type=Microsoft.KeyVault/vaults"
    ).json()
    assert len(body["results"]) == 1 and body["next"] is None, "a cursor page, no count"
    row = body["results"][0]
    assert row["tenant"] == {"id": tenant_a.pk, "slug": "tenant-a"}
    assert row["resource_name"] == "kv-secret-ü"
    assert "config_data" not in row, "the list stays light; the detail has the config"
    empty = client.get(f"/t/{tenant_a.slug}/api/v1/configurations/?deleted=true").json()
    assert empty["results"] == []
    detail = client.get(f"/t/{tenant_a.slug}/api/v1/configurations/{stored_resource.pk}/").json()
    assert detail["config_data"]["properties"]["enablePurgeProtection"] is True
    history = client.get(
        f"/t/{tenant_a.slug}/api/v1/configurations/{stored_resource.pk}/history/"
    ).json()
    assert history["results"][0]["changed_by"] == "alice@contoso.com"


def test_the_same_id_in_another_tenant_is_not_found(
    client_for, customer_b, tenant_b, stored_resource
):
    response = client_for(customer_b).get(
        f"/t/{tenant_b.slug}/api/v1/configurations/{stored_resource.pk}/"
    )
    assert response.status_code == 404
    assert "kv-secret" not in response.content.decode()


def test_tenant_admin_shows_history_with_a_side_by_side_diff(
    client_for, msp_engineer, tenant_a, stored_resource
):
    client = client_for(msp_engineer)
    connection.set_tenant(tenant_a)
    change = ConfigurationHistory.objects.get(configuration=stored_resource)
    connection.set_schema_to_public()
    body = client.get(
        f"/t/{tenant_a.slug}/admin/configurations/configurationhistory/{change.pk}/change/"
    ).content.decode()
    assert "previous (left) vs new (right)" in body.lower()
    assert "<table" in body and "diff_" in body
    assert "enablePurgeProtection" in body


def test_tenant_admin_is_for_msp_staff_not_customers(client_for, customer_a, tenant_a):
    response = client_for(customer_a).get(f"/t/{tenant_a.slug}/admin/configurations/configuration/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
