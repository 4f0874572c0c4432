"""The slug -> tenant cache of /t/<slug>/ routing: one query per slug and worker while
fresh, and a deactivated or renamed tenant is not served from it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import create_api_token
from tenants.selectors import active_tenant_by_slug
from tenants.services import set_tenant_active

pytestmark = pytest.mark.django_db


def test_a_found_tenant_is_served_without_a_query(tenant_a):
    assert active_tenant_by_slug(tenant_a.slug) == tenant_a
    with CaptureQueriesContext(connection) as queries:
        assert active_tenant_by_slug(tenant_a.slug) == tenant_a
    assert len(queries.captured_queries) == 0


def test_no_cache_when_its_lifetime_is_zero(tenant_a, settings):
    settings.TENANT_CACHE_SECONDS = 0
    active_tenant_by_slug(tenant_a.slug)
    with CaptureQueriesContext(connection) as queries:
        active_tenant_by_slug(tenant_a.slug)
    assert len(queries.captured_queries) == 1


def test_a_deactivated_tenant_is_a_404_on_the_next_request(tenant_a, msp_admin):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=msp_admin, name='t')[1]}")
    url = f"/t/{tenant_a.slug}/api/v1/configurations/"
    assert client.get(url).status_code == 200
    set_tenant_active(tenant_a, active=False)
    assert client.get(url).status_code == 404
    set_tenant_active(tenant_a, active=True)
    assert client.get(url).status_code == 200


def test_a_renamed_slug_no_longer_routes(tenant_a):
    assert active_tenant_by_slug(tenant_a.slug) == tenant_a
    old = tenant_a.slug
    tenant_a.slug = "tenant-a-renamed"
    tenant_a.save()
    assert active_tenant_by_slug(old) is None
    assert active_tenant_by_slug("tenant-a-renamed") == tenant_a


def test_unknown_slugs_are_looked_up_each_time(db):
    assert active_tenant_by_slug("no-such-tenant") is None
    with CaptureQueriesContext(connection) as queries:
        assert active_tenant_by_slug("no-such-tenant") is None
    assert len(queries.captured_queries) == 1
