"""Reading the audit trail: tenant admin and API (filters, cursor pages, isolation), the
fleet page's sign-in column, the forwarder's state in the MSP admin, retention purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from auditlog import mapping
from auditlog.fleet.models import AuditCollector, ForwarderState, OutboxEntry
from auditlog.models import SigningLog
from auditlog.scheduling import purge_tenant
from auditlog.services import write_graph_rows
from tenants.services import update_settings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sign_ins(tenant, count=30):
    from azuresim.msgraph import sign_in_row

    base = timezone.now().timestamp() - 3600
    rows = [sign_in_row(tenant.azure_tenant_id, i, base + i * 60) for i in range(count)]
    with tenant_context(tenant):
        write_graph_rows(source=mapping.SOURCE_SIGNIN, objects=rows, now=timezone.now())
        return list(SigningLog.objects.order_by("-timestamp", "-id"))


@pytest.fixture
def rows_a(tenant_a):
    return _sign_ins(tenant_a)


URLS = [
    "/t/{slug}/api/v1/audit/events/",
    "/t/{slug}/api/v1/audit/events/{row}/",
    "/t/{slug}/api/v1/audit/sign-ins/",
    "/t/{slug}/admin/auditlog/signinglog/",
    "/t/{slug}/admin/auditlog/signinglog/{row}/change/",
]


@pytest.mark.parametrize("pattern", URLS)
def test_every_audit_url_is_isolated(
    pattern, tenant_a, rows_a, msp_admin, customer_b, assert_isolated
):
    row = rows_a[0]
    assert_isolated(
        pattern.replace("{row}", str(row.pk)),
        tenant=tenant_a,
        owner=msp_admin,
        intruder=customer_b,
        secrets=(row.log_id,),
    )


def test_a_customer_reads_its_own_sign_ins_and_never_the_msp_admin_pages(
    tenant_a, rows_a, customer_a, client_for
):
    client = client_for(customer_a)
    response = client.get(f"/t/{tenant_a.slug}/api/v1/audit/sign-ins/")
    assert response.status_code == 200 and len(response.json()["results"]) == 30
    for url in (
        "/admin/auditlog/signinglog/",
        "/admin/auditlog_fleet/forwarderstate/",
        "/admin/auditlog_fleet/outboxentry/",
        "/admin/auditlog_fleet/auditcollector/",
    ):
        assert client.get(url).status_code in (302, 403), url


def test_api_filters_and_cursor_pages(tenant_a, rows_a, msp_admin, client_for):
    client = client_for(msp_admin)
    base = f"/t/{tenant_a.slug}/api/v1/audit/events/"
    failed = client.get(base, {"status": "failure", "source": "azure_signin"}).json()["results"]
    assert failed and all(r["status"] == "failure" for r in failed)
    assert len(failed) == sum(1 for r in rows_a if r.status == "failure")
    user = rows_a[0].actor
    by_user = client.get(base, {"user": user}).json()["results"]
    assert by_user and {r["actor"] for r in by_user} == {user}
    app = rows_a[0].resource
    assert {r["resource"] for r in client.get(base, {"app": app}).json()["results"]} == {app}
    ip = str(rows_a[0].client_ip)
    assert all(r["client_ip"] == ip for r in client.get(base, {"ip": ip}).json()["results"])
    since = (timezone.now() - timedelta(minutes=45)).isoformat()
    recent = client.get(base, {"since": since}).json()["results"]
    assert 0 < len(recent) < 30
    found = client.get(base, {"q": rows_a[3].log_id}).json()["results"]
    assert [r["log_id"] for r in found] == [rows_a[3].log_id]

    seen: list[int] = []
    url = f"{base}?page_size=7"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == [r.pk for r in rows_a], "every row once, newest first"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ip": "300.1.1.1"}, "ip"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"source": "nonsense"}, "source"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(tenant_a, msp_admin, client_for, params, field):
    response = client_for(msp_admin).get(f"/t/{tenant_a.slug}/api/v1/audit/events/", params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_tenant_admin_filters_by_user_app_ip_time_and_search(
    tenant_a, rows_a, msp_admin, client_for
):
    client = client_for(msp_admin)
    base = f"/t/{tenant_a.slug}/admin/auditlog/signinglog/"
    row = rows_a[0]
    for params in (
        {"user": row.actor},
        {"app": row.resource},
        {"ip": str(row.client_ip)},
        {"since": "24h"},
        {"risky": "yes"},
        {"status__exact": "failure"},
        {"source__exact": "azure_signin"},
        {"q": row.actor},
    ):
        response = client.get(base, params)
        assert response.status_code == 200, params
        assert response.context["cl"].result_count > 0, params
    assert client.get(base, {"ip": "not-an-ip"}).context["cl"].result_count == 0
    detail = client.get(f"{base}{row.pk}/change/")
    assert detail.status_code == 200 and row.log_id in detail.content.decode()
    assert client.post(f"{base}{row.pk}/delete/").status_code == 403


def test_the_fleet_page_shows_failed_and_risky_sign_ins_per_tenant(
    tenant_a, tenant_b, rows_a, msp_admin, client_for
):
    AuditCollector.objects.update_or_create(
        tenant=tenant_a, defaults={"last_run_at": timezone.now()}
    )
    AuditCollector.objects.update_or_create(
        tenant=tenant_b,
        defaults={
            "last_run_at": timezone.now(),
            "signins_unavailable": "sign-ins unavailable (licence)",
        },
    )
    response = client_for(msp_admin).get("/admin/fleet/")
    assert response.status_code == 200
    rows = {row["tenant"].pk: row["sign_ins"] for row in response.context["rows"]}
    failed = sum(1 for r in rows_a if r.status == "failure")
    risky = sum(1 for r in rows_a if r.log_data["risky"])
    assert (rows[tenant_a.pk]["total"], rows[tenant_a.pk]["failed"]) == (30, failed)
    assert rows[tenant_a.pk]["risky"] == risky
    assert "sign-ins unavailable (licence)" in response.content.decode()


def test_the_forwarder_state_is_visible_in_the_msp_admin(tenant_a, msp_admin, client_for):
    ForwarderState.objects.update_or_create(
        pk=1, defaults={"last_error": "Elasticsearch unreachable: ConnectionError"}
    )
    OutboxEntry.objects.create(
        doc_id="x:1", tenant=tenant_a, occurred_at=timezone.now(), document={}, state="parked"
    )
    page = client_for(msp_admin).get("/admin/auditlog_fleet/forwarderstate/").content.decode()
    assert "Elasticsearch unreachable" in page
    client = client_for(msp_admin)
    outbox = client.get("/admin/auditlog_fleet/outboxentry/?state__exact=parked")
    assert outbox.status_code == 200 and "x:1" in outbox.content.decode()


def test_retention_purges_old_rows_in_batches(tenant_a, settings):
    settings.AUDIT_PURGE_BATCH = 7
    _sign_ins(tenant_a, count=30)
    with tenant_context(tenant_a):
        SigningLog.objects.filter(
            pk__in=list(SigningLog.objects.values_list("pk", flat=True)[:20])
        ).update(timestamp=timezone.now() - timedelta(days=40))
    update_settings(
        tenant_a,
        actor="t",
        polling_settings={"enabled": True, "interval_minutes": 4, "audit_retention_days": 30},
    )
    assert purge_tenant(tenant_a) == 20
    with tenant_context(tenant_a):
        assert SigningLog.objects.filter(source="azure_signin").count() == 10


def test_a_customer_user_change_lands_in_the_customers_schema(tenant_b):
    from auditlog.context import acting_as

    with acting_as("msp-ops", via="admin"):
        user = UserFactory(tenant=tenant_b, role_name="Customer Viewer")
    with tenant_context(tenant_b):
        assert SigningLog.objects.filter(action="user.created", resource=f"user:{user.pk}").exists()
