"""ARM endpoints: subscriptions through the real SubscriptionClient, auth and rate headers."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.subscriptions import SubscriptionClient

from azuresim.throttle import Throttle, TokenBucket, hms
from tests.azuresim.helpers import arm_get, credential, raw_get


def test_subscription_client_lists_all_pages(sim, sim_client, make_tenant):
    tenant = make_tenant(subscriptions=5, resources=20)
    client = SubscriptionClient(
        credential(sim, tenant),
        base_url=sim.base_url,
        credential_scopes=[sim.base_url + "/.default"],
        connection_verify=str(sim.ca_path),
    )
    subs = list(client.subscriptions.list())
    assert sorted(s.subscription_id for s in subs) == sorted(tenant["subscription_ids"])
    assert all(s.tenant_id == tenant["tenant_id"] and s.state == "Enabled" for s in subs)
    assert sim_client.stats()["arm.subscriptions"] >= 3  # page size 2 -> 3 pages


def test_arm_requires_bearer_token(sim):
    response = raw_get(sim, "/subscriptions?api-version=2022-12-01")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert response.json()["error"]["code"] == "AuthenticationFailed"

    forged = raw_get(
        sim,
        "/subscriptions?api-version=2022-12-01",
        {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln"},
    )
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_arm_responses_carry_rate_limit_headers(sim, sim_client, make_tenant):
    tenant = make_tenant()
    sim_client.set_throttling("headers", tenant_id=tenant["tenant_id"])
    first = arm_get(sim, tenant, "/subscriptions?api-version=2022-12-01")
    second = arm_get(sim, tenant, "/subscriptions?api-version=2022-12-01")
    assert first.status_code == second.status_code == 200
    remaining = [
        int(r.headers["x-ms-ratelimit-remaining-subscription-reads"]) for r in (first, second)
    ]
    assert all(0 <= value <= 249 for value in remaining)  # accounting: see the unit tests
    assert "x-ms-ratelimit-remaining-tenant-reads" in first.headers
    assert first.headers["x-ms-request-id"]


def test_activity_log_rejects_foreign_subscription(sim, make_tenant):
    mine, other = make_tenant(), make_tenant()
    path = (
        f"/subscriptions/{other['subscription_ids'][0]}/providers/Microsoft.Insights/eventtypes/"
        "management/values?api-version=2015-04-01&$filter=eventTimestamp ge '2024-01-01T00:00:00Z'"
    )
    response = arm_get(sim, mine, path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AuthorizationFailed"


def test_enforced_arm_bucket_refuses_when_empty():
    throttle = Throttle("enforce")
    decisions = [throttle.take("arm", "t", "app") for _ in range(251)]
    assert all(d.allowed for d in decisions[:250])
    assert not decisions[250].allowed and decisions[250].retry_after > 0
    assert throttle.take("arm", "t", "other-app").allowed  # buckets are per principal


def test_headers_mode_never_refuses_and_off_mode_reports_full_quota():
    headers_only = Throttle("headers")
    assert all(headers_only.take("graph", "t", "a").allowed for _ in range(40))
    assert headers_only.take("graph", "t", "a").remaining == 0
    assert Throttle("off").take("graph", "t", "a").remaining == 14


def test_token_bucket_and_hms():
    bucket = TokenBucket(capacity=2, rate=1.0)
    assert bucket.take(enforce=True).allowed
    assert bucket.take(enforce=True).allowed
    assert not bucket.take(enforce=True).allowed
    assert hms(5) == "00:00:05" and hms(3661.2) == "01:01:02"
    with pytest.raises(ValueError):
        Throttle("sometimes")


def test_unknown_arm_path_is_404(sim, make_tenant):
    tenant = make_tenant()
    response = arm_get(sim, tenant, "/subscriptions/x/resourceGroups/y?api-version=2021-04-01")
    assert response.status_code == 404
    with pytest.raises(HttpResponseError):
        response.raise_for_status()
