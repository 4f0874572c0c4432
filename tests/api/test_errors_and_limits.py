"""Dependencies down (503 JSON), throttles per token and tenant (429), CSV exports that
cannot inject formulas and stream."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from driftdetector.api.throttling import TenantAwareThrottle, WriteThrottle

pytestmark = pytest.mark.django_db


def test_throttles_are_per_token_and_tenant_and_answer_429(
    monkeypatch, token_client, customer_a, tenant_a, msp_admin, cache_flush
):
    monkeypatch.setattr(TenantAwareThrottle, "THROTTLE_RATES", {"api": "3/min"})
    monkeypatch.setattr(WriteThrottle, "THROTTLE_RATES", {"api_write": "3/min"})
    client = token_client(customer_a)
    url = f"/t/{tenant_a.slug}/api/v1/drift/findings/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429 and refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) > 0
    # Another token, and the same user's other token, have buckets of their own.
    assert token_client(msp_admin).get(url).status_code == 200
    assert token_client(customer_a).get(url).status_code == 200
    # The MSP-wide API (public schema) is a different bucket for the same token.
    other = token_client(msp_admin)
    for _ in range(3):
        other.get(url)
    assert other.get("/api/v1/tenants/").status_code == 200


@pytest.fixture
def cache_flush():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_csv_export_neutralises_formulas_and_streams(
    token_client, msp_admin, tenant_a, api_objects
):
    response = token_client(msp_admin).get(f"/t/{tenant_a.slug}/api/v1/drift/findings/export/")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert rows[0]["changed_by"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["tenant"] == tenant_a.slug
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    report = token_client(msp_admin).get(
        f"/t/{tenant_a.slug}/api/v1/drift/reports/{api_objects['report']}/export/"
    )
    assert "'=cmd" in report.getvalue().decode()


def test_the_pages_of_a_cursor_list_join_up(token_client, msp_admin, tenant_a, api_objects):
    from django.db import connection

    from tests.factories import DriftFindingFactory

    connection.set_tenant(tenant_a)
    DriftFindingFactory.create_batch(7, severity="low")
    connection.set_schema_to_public()
    client = token_client(msp_admin)
    url, seen = f"/t/{tenant_a.slug}/api/v1/drift/findings/?limit=3&order=severity", []
    while url:
        page = client.get(url).json()
        seen += [(row["severity"], row["id"]) for row in page["results"]]
        url = page["next"]
    assert len(seen) == len({i for _, i in seen}) == 8
    assert seen[0][0] == "high" and {s for s, _ in seen[1:]} == {"low"}
    assert Client().get(f"/t/{tenant_a.slug}/api/v1/drift/findings/").status_code == 404


def test_the_throttle_keeps_drf_sliding_log_in_one_redis_script(monkeypatch, cache_flush):
    """Allowed while fewer than N requests were allowed in the last period; refusals are
    not recorded; ``wait`` is DRF's (the oldest request's remaining period)."""
    from types import SimpleNamespace

    monkeypatch.setattr(TenantAwareThrottle, "THROTTLE_RATES", {"api": "3/min"})
    clock = [1000.0]
    monkeypatch.setattr(TenantAwareThrottle, "timer", lambda self: clock[0])
    request = SimpleNamespace(auth=SimpleNamespace(pk=987654), user=None, method="GET")

    def attempt(at: float) -> tuple[bool, float | None]:
        clock[0] = at
        throttle = TenantAwareThrottle()
        allowed = throttle.allow_request(request, None)
        return allowed, None if allowed else throttle.wait()

    assert [attempt(t)[0] for t in (1000.0, 1010.0, 1020.0)] == [True, True, True]
    assert attempt(1030.0) == (False, 30.0)  # oldest (1000) leaves the window at 1060
    assert attempt(1059.5) == (False, 0.5)
    assert attempt(1060.0) == (True, None)  # 1000 is out; the refusals were not counted
    assert attempt(1061.0) == (False, 9.0)  # window now 1010, 1020, 1060
