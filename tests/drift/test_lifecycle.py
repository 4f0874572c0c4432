"""Exceptions (accepted deviations), flapping with the one-click ignore rule, scoped
baselines from the admin, the finding detail page and the fleet trend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.models import Configuration
from drift import services, statements
from drift.models import Baseline, BaselineEntry, DriftException, DriftFinding
from tenants.models import FindingTrendPoint
from tenants.selectors import current_settings
from tenants.services import update_settings
from tests.drift.helpers import detect, in_schema

pytestmark = pytest.mark.django_db

TLS = "properties.minimumTlsVersion"


def storage_of(tenant) -> Configuration:
    return in_schema(
        tenant,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.storage/storageaccounts", deleted_at__isnull=True
        ).first(),
    )


def tls_values(storage: Configuration) -> tuple[str, str, str]:
    """(original, weak, other): three distinct minimumTlsVersion values for this account."""
    original = storage.config_data["properties"].get("minimumTlsVersion")
    weak, other = [v for v in ("TLS1_0", "TLS1_1", "TLS1_2") if v != original][:2]
    return original, weak, other


def set_tls(sim_client, collect, tenant, resource_id: str, value: str):
    sim_client.modify_resource(resource_id, {"properties": {"minimumTlsVersion": value}})
    collect(tenant)
    return detect(tenant)


def tls_findings(tenant, resource_id: str) -> list[DriftFinding]:
    return in_schema(
        tenant,
        lambda: list(
            DriftFinding.objects.filter(resource_id=resource_id, path=TLS)
            .select_related("exception")
            .order_by("pk")
        ),
    )


def test_an_exception_suppresses_only_while_the_value_is_the_accepted_one(
    collected, collect, sim_client
):
    storage = storage_of(collected)
    _, weak, other = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)
    (finding,) = tls_findings(collected, storage.resource_id)
    in_schema(
        collected,
        lambda: services.create_exceptions(
            [finding.pk],
            reason="legacy client until migration",
            expires_at=timezone.now() + timedelta(days=7),
            actor="alice",
        ),
    )
    (accepted,) = tls_findings(collected, storage.resource_id)
    assert accepted.status == "accepted" and accepted.exception is not None
    assert accepted.exception.accepted_value == weak
    assert accepted.exception.approved_by == "alice"

    report = detect(collected)
    assert report.suppressed == 1 and report.opened == 0
    assert [f.status for f in tls_findings(collected, storage.resource_id)] == ["accepted"]

    report = set_tls(sim_client, collect, collected, storage.resource_id, other)
    assert report.opened == 1, "a value that moves away from the accepted one reopens as new"
    old, new = tls_findings(collected, storage.resource_id)
    assert old.status == "accepted"
    assert new.status == "open" and new.current_value == other
    assert new.first_seen > old.first_seen


def test_an_expired_exception_reopens_the_finding_as_new(collected, collect, sim_client):
    storage = storage_of(collected)
    _, weak, _ = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)
    (finding,) = tls_findings(collected, storage.resource_id)
    (exception,) = in_schema(
        collected,
        lambda: services.create_exceptions(
            [finding.pk], reason="r", expires_at=timezone.now() + timedelta(days=1), actor="a"
        ),
    )
    assert detect(collected).opened == 0
    in_schema(
        collected,
        lambda: DriftException.objects.filter(pk=exception.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        ),
    )
    report = detect(collected)
    assert report.opened == 1 and report.suppressed == 0
    statuses = [f.status for f in tls_findings(collected, storage.resource_id)]
    assert statuses == ["accepted", "open"]


def test_an_exception_needs_a_reason_and_a_future_expiry(collected, collect, sim_client):
    storage = storage_of(collected)
    _, weak, _ = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)
    (finding,) = tls_findings(collected, storage.resource_id)
    with pytest.raises(ValidationError) as excinfo:
        in_schema(
            collected,
            lambda: services.create_exceptions(
                [finding.pk], reason=" ", expires_at=timezone.now() - timedelta(days=1), actor="a"
            ),
        )
    assert set(excinfo.value.message_dict) == {"reason", "expires_at"}
    assert tls_findings(collected, storage.resource_id)[0].status == "open"


def test_the_exception_admin_action_asks_for_reason_and_expiry(
    collected, collect, sim_client, client_for, msp_admin
):
    storage = storage_of(collected)
    _, weak, _ = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)
    (finding,) = tls_findings(collected, storage.resource_id)
    client = client_for(msp_admin)
    url = f"/t/{collected.slug}/admin/drift/driftfinding/"
    form = client.post(url, {"action": "create_exception", "_selected_action": [finding.pk]})
    assert form.status_code == 200 and b"expires_at" in form.content
    expiry = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    done = client.post(
        url,
        {
            "action": "create_exception",
            "_selected_action": [finding.pk],
            "apply": "1",
            "reason": "approved by CAB-42",
            "expires_at": expiry,
        },
    )
    assert done.status_code == 302
    (accepted,) = tls_findings(collected, storage.resource_id)
    assert accepted.status == "accepted"
    assert accepted.exception.reason == "approved by CAB-42"
    assert accepted.exception.approved_by == msp_admin.username


@pytest.mark.parametrize("window", ["read with the configs", "read apart"])
def test_a_path_that_flaps_is_flagged_and_one_click_ignores_it(
    collected, collect, sim_client, client_for, msp_admin, monkeypatch, window
):
    """Path activity and the flapping window come with the compared configs or, for a
    window longer than the latest reports read with them, by a statement of their own."""
    if window == "read apart":
        monkeypatch.setattr(statements, "RECENT_REPORTS", 1)
    update_settings(
        collected, actor="t", drift_thresholds={"flapping": {"changes": 2, "passes": 10}}
    )
    storage = storage_of(collected)
    original, weak, other = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)  # opens: 1
    assert not tls_findings(collected, storage.resource_id)[0].flapping
    set_tls(sim_client, collect, collected, storage.resource_id, original)  # resolves: 2
    set_tls(sim_client, collect, collected, storage.resource_id, weak)  # opens: 3 > 2
    latest = tls_findings(collected, storage.resource_id)[-1]
    assert latest.status == "open" and latest.flapping

    client = client_for(msp_admin)
    response = client.get(f"/t/{collected.slug}/admin/drift/driftfinding/?flapping__exact=1")
    assert storage.resource_id.encode() in response.content
    response = client.post(
        f"/t/{collected.slug}/admin/drift/driftfinding/",
        {"action": "ignore_path", "_selected_action": [latest.pk]},
    )
    assert response.status_code == 302
    rules = current_settings(collected).drift_thresholds["rules"]
    assert (
        rules[0]["severity"] == "ignore" and rules[0]["path"] == r"^properties\.minimumTlsVersion$"
    )
    assert tls_findings(collected, storage.resource_id)[-1].status == "resolved"

    report = set_tls(sim_client, collect, collected, storage.resource_id, original)
    report = set_tls(sim_client, collect, collected, storage.resource_id, other)
    assert report.ignored == 1 and report.opened == 0
    assert all(f.status != "open" for f in tls_findings(collected, storage.resource_id))


def test_the_finding_page_shows_the_side_by_side_diff_and_the_history(
    collected, collect, sim_client, client_for, msp_admin
):
    storage = storage_of(collected)
    _, weak, _ = tls_values(storage)
    sim_client.modify_resource(
        storage.resource_id,
        {"properties": {"minimumTlsVersion": weak}},
        caller="mallory@contoso.com",
    )
    collect(collected)
    detect(collected)
    (finding,) = tls_findings(collected, storage.resource_id)
    page = client_for(msp_admin).get(
        f"/t/{collected.slug}/admin/drift/driftfinding/{finding.pk}/change/"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="diff"' in html and ">baseline<" in html and ">current<" in html
    assert weak in html and "diff_chg" in html
    assert "mallory@contoso.com" in html and "configurationhistory" in html


def test_a_baseline_from_a_resource_group_is_created_in_the_admin_with_who_and_when(
    collected, client_for, msp_admin
):
    rg = in_schema(
        collected,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.resources/subscriptions/resourcegroups"
        ).first(),
    )
    prefix = f"{rg.resource_id}/"
    client = client_for(msp_admin)
    add = client.get(f"/t/{collected.slug}/admin/drift/baseline/add/")
    assert prefix.encode() in add.content, "resource groups are offered as scopes"
    response = client.post(
        f"/t/{collected.slug}/admin/drift/baseline/add/",
        {"name": "after CAB-42", "scope_prefix": prefix},
    )
    assert response.status_code == 302
    baseline = in_schema(collected, lambda: Baseline.objects.get(active=True))
    assert (baseline.name, baseline.scope, baseline.created_by) == (
        "after CAB-42",
        prefix,
        msp_admin.username,
    )
    assert timezone.now() - baseline.created_at < timedelta(minutes=1)
    ids = in_schema(
        collected,
        lambda: list(
            BaselineEntry.objects.filter(baseline=baseline).values_list("resource_id", flat=True)
        ),
    )
    assert ids and all(i.startswith(prefix) for i in ids)


def test_a_scoped_baseline_treats_underscore_and_percent_literally(tenant_a):
    now = timezone.now()
    sub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups"

    def make(rg: str, name: str) -> Configuration:
        rid = f"{sub}/{rg}/providers/microsoft.network/virtualnetworks/{name}"
        return Configuration.objects.create(
            resource_id=rid,
            resource_type="microsoft.network/virtualnetworks",
            resource_name=name,
            subscription_id="00000000-0000-0000-0000-000000000001",
            resource_group=rg,
            config_data={"id": rid, "properties": {"x": 1}},
            config_hash=f"h-{rg}-{name}",
            first_seen=now,
            last_updated=now,
        )

    with tenant_context(tenant_a):
        make("rg_a%", "inside")
        make("rgxab", "lookalike")
        baseline = services.create_baseline(name="s", actor="t", scope_prefix=f"{sub}/rg_a%/")
        assert baseline.entries.count() == 1
        report = services.run_detection(tenant_a, actor="t")
        assert report.resources_compared == 1, "a LIKE wildcard would pull in rgxab"
        assert report.opened == 0


def test_detection_records_todays_trend_point_for_the_fleet_page(
    collected, collect, sim_client, client_for, msp_admin
):
    storage = storage_of(collected)
    _, weak, _ = tls_values(storage)
    set_tls(sim_client, collect, collected, storage.resource_id, weak)
    point = FindingTrendPoint.objects.get(tenant=collected, day=timezone.localdate())
    assert sum(point.open_findings.values()) >= 1
    FindingTrendPoint.objects.update_or_create(
        tenant=collected,
        day=timezone.localdate() - timedelta(days=3),
        defaults={"open_findings": {"critical": 5}},
    )
    page = client_for(msp_admin).get("/admin/fleet/?o=-critical")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "polyline" in html
    assert f"/t/{collected.slug}/" in html


def test_the_fleet_sorts_by_any_column(tenant_a, tenant_b):
    from tenants.models import TenantStatus
    from tenants.selectors import fleet_rows

    TenantStatus.objects.update_or_create(
        tenant=tenant_a, defaults={"open_findings": {"critical": 5, "low": 1}}
    )
    TenantStatus.objects.update_or_create(
        tenant=tenant_b, defaults={"open_findings": {"critical": 1, "low": 9}}
    )

    def order(key):
        slugs = [row["tenant"].slug for row in fleet_rows(key)]
        return [s for s in slugs if s in (tenant_a.slug, tenant_b.slug)]

    assert order("-critical") == [tenant_a.slug, tenant_b.slug]
    assert order("critical") == [tenant_b.slug, tenant_a.slug]
    assert order("-low") == [tenant_b.slug, tenant_a.slug]
    assert order("-open") == [tenant_b.slug, tenant_a.slug]
    assert order("no-such-column") == sorted([tenant_a.slug, tenant_b.slug])
