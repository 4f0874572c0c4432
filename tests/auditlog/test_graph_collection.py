"""Azure sign-ins and directory audits read from the simulator's Microsoft Graph."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from auditlog.collection import LICENCE_MESSAGE, collect_tenant_audit
from auditlog.fleet.models import AuditCollector, SignInHour
from auditlog.models import SigningLog

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def wired(tenant_a, azure_tenant, sim_client, settings):
    """tenant_a with a simulated Azure tenant whose Graph feed has 60 minutes of history."""
    settings.AUDIT_INITIAL_HOURS = 2
    spec = azure_tenant(tenant_a, resources=0, subscriptions=0)
    sim_client.set_graph_audit(
        tenant_a.azure_tenant_id, signins_per_minute=3, audits_per_minute=1, backfill_minutes=60
    )
    return spec


def _rows(tenant, source):
    with tenant_context(tenant):
        return list(SigningLog.objects.filter(source=source).order_by("timestamp"))


def test_a_pass_stores_sign_ins_with_the_erd_fields_and_a_rerun_writes_nothing_twice(
    tenant_a, wired
):
    with tenant_context(tenant_a):
        first = collect_tenant_audit(tenant_a)
    signins = _rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)
    audits = _rows(tenant_a, SigningLog.Source.AZURE_DIRECTORY)
    assert 175 <= len(signins) <= 185, "3 a minute for 60 minutes"
    assert 55 <= len(audits) <= 62
    assert first.feeds["signIns"].written == len(signins)

    failed = [r for r in signins if r.status == "failure"]
    risky = [r for r in signins if r.log_data["risky"]]
    assert failed and risky and len(failed) < len(signins)
    row = failed[0]
    assert "@" in row.actor and row.resource and row.client_ip
    assert row.log_data["error_code"] != 0 and row.log_data["failure_reason"]
    assert row.log_data["location"]["country"]
    assert row.log_data["conditional_access"] in ("success", "failure")
    assert row.log_data["client_app"] and row.log_data["raw"]["id"] == row.log_id

    collector = AuditCollector.objects.get(tenant=tenant_a)
    assert collector.signins_since == max(r.timestamp for r in signins)
    assert collector.last_error == "" and collector.next_run_at > timezone.now()
    hours = SignInHour.objects.filter(tenant=tenant_a)
    assert sum(h.total for h in hours) == len(signins)
    assert sum(h.failed for h in hours) == len(failed)
    assert sum(h.risky for h in hours) == len(risky)

    with tenant_context(tenant_a):
        again = collect_tenant_audit(tenant_a)
    assert again.feeds["signIns"].read > 0, "the overlap is read again"
    assert again.feeds["signIns"].written <= 1, "only what arrived since is new"
    assert len(_rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)) == len(signins) + (
        again.feeds["signIns"].written
    )
    assert sum(h.total for h in SignInHour.objects.filter(tenant=tenant_a)) == len(
        _rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)
    )


def test_pages_are_followed_by_next_link_and_a_refused_skip_token_restarts_the_query(
    tenant_a, wired, sim_client, settings
):
    settings.AUDIT_PAGE_SIZE = 40
    sim_client.set_graph_audit(tenant_a.azure_tenant_id, refuse_skiptokens=1)
    with tenant_context(tenant_a):
        result = collect_tenant_audit(tenant_a)
    signins = _rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)
    assert result.feeds["signIns"].pages >= 6, "5 pages of 40, the first read twice"
    assert len(signins) == len({r.log_id for r in signins}) >= 175
    assert AuditCollector.objects.get(tenant=tenant_a).last_error == ""


def test_a_tenant_without_licence_is_marked_and_not_asked_every_pass_audits_continue(
    tenant_a, wired, sim_client
):
    sim_client.set_graph_access(tenant_a.azure_tenant_id, premium=False)
    with tenant_context(tenant_a):
        first = collect_tenant_audit(tenant_a)
    collector = AuditCollector.objects.get(tenant=tenant_a)
    assert collector.signins_unavailable == LICENCE_MESSAGE == first.feeds["signIns"].skipped
    assert collector.last_error == ""
    assert _rows(tenant_a, SigningLog.Source.AZURE_DIRECTORY)
    assert not _rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)

    before = sim_client.stats().get("graph.signins", 0)
    with tenant_context(tenant_a):
        second = collect_tenant_audit(tenant_a)
    assert sim_client.stats().get("graph.signins", 0) == before, "not asked again"
    assert second.feeds["signIns"].skipped == LICENCE_MESSAGE

    sim_client.set_graph_access(tenant_a.azure_tenant_id, premium=True)
    AuditCollector.objects.filter(tenant=tenant_a).update(
        signins_unavailable_at=timezone.now() - timedelta(days=2)
    )
    with tenant_context(tenant_a):
        collect_tenant_audit(tenant_a)
    assert AuditCollector.objects.get(tenant=tenant_a).signins_unavailable == ""
    assert _rows(tenant_a, SigningLog.Source.AZURE_SIGNIN)


def test_objects_with_missing_fields_and_unknown_enums_are_kept_with_warnings(
    tenant_a, wired, sim_client
):
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    odd = [
        {"createdDateTime": now, "userPrincipalName": "ghost@contoso.example"},
        {
            "id": "odd-2",
            "createdDateTime": now,
            "ipAddress": "not-an-ip",
            "conditionalAccessStatus": "brandNewValue",
            "riskLevelDuringSignIn": "extreme",
            "status": {"errorCode": "x"},
        },
        {"id": "odd-3"},
    ]
    sim_client.set_graph_audit(tenant_a.azure_tenant_id, signins_per_minute=0, extra_signIns=odd)
    with tenant_context(tenant_a):
        collect_tenant_audit(tenant_a)
        rows = {r.log_id: r for r in SigningLog.objects.filter(source="azure_signin")}
    assert len(rows) == 3, "nothing is dropped"
    assert any("createdDateTime" in w for w in rows["odd-3"].log_data["warnings"])
    two = rows["odd-2"]
    assert two.client_ip is None and two.status == "unknown" and two.actor == "(unknown)"
    assert any("brandNewValue" in w for w in two.log_data["warnings"])
    assert any("extreme" in w for w in two.log_data["warnings"])
    assert two.log_data["raw"]["ipAddress"] == "not-an-ip"
    derived = next(r for k, r in rows.items() if k.startswith("sha256:"))
    assert derived.actor == "ghost@contoso.example"

    with tenant_context(tenant_a):
        collect_tenant_audit(tenant_a)
        assert SigningLog.objects.filter(source="azure_signin").count() == 3, "no id: same key"


def test_a_429_storm_is_waited_out_by_retry_after(tenant_a, wired, sim_client):
    sim_client.add_fault(action="status", status=429, retry_after=1, path_regex="signIns", count=2)
    with tenant_context(tenant_a):
        result = collect_tenant_audit(tenant_a)
    assert result.feeds["signIns"].error == ""
    assert result.feeds["signIns"].written >= 175
    assert sim_client.list_faults() == [], "both 429s were answered and waited out"


def test_a_long_outage_warns_of_a_gap_beyond_graph_retention(tenant_a, wired):
    AuditCollector.objects.update_or_create(
        tenant=tenant_a,
        defaults={
            "signins_since": timezone.now() - timedelta(days=45),
            "audits_since": timezone.now() - timedelta(days=45),
        },
    )
    with tenant_context(tenant_a):
        collect_tenant_audit(tenant_a)
    warning = AuditCollector.objects.get(tenant=tenant_a).gap_warning
    assert "30 days" in warning and "lost" in warning


def test_a_failing_feed_is_recorded_and_the_other_feed_still_runs(tenant_a, wired, sim_client):
    sim_client.add_fault(action="status", status=500, path_regex="directoryAudits", count=None)
    with tenant_context(tenant_a):
        result = collect_tenant_audit(tenant_a)
    collector = AuditCollector.objects.get(tenant=tenant_a)
    assert "directoryAudits" in collector.last_error and "500" in collector.last_error
    assert collector.audits_since is None, "the mark moves only after a complete read"
    assert result.feeds["signIns"].written >= 175
    assert not _rows(tenant_a, SigningLog.Source.AZURE_DIRECTORY)


def test_due_tenants_are_claimed_once_until_their_pass_sets_the_next_time(
    tenant_a, tenant_b, wired
):
    from auditlog.scheduling import due_tenants

    first = due_tenants()
    assert tenant_a.schema_name in first
    assert tenant_b.schema_name not in first or tenant_b.azure_credential_id
    assert tenant_a.schema_name not in due_tenants(), "claimed: not sent twice"
    with tenant_context(tenant_a):
        collect_tenant_audit(tenant_a)
    collector = AuditCollector.objects.get(tenant=tenant_a)
    assert timedelta(minutes=4) < collector.next_run_at - timezone.now() <= timedelta(minutes=5)
    AuditCollector.objects.filter(tenant=tenant_a).update(next_run_at=timezone.now())
    assert tenant_a.schema_name in due_tenants()
