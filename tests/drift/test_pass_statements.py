"""What a detection pass reads once and keeps: the compiled rule set (per process, by the
settings' content), the normalised form of approved configs (by the normaliser's
fingerprint), and the few statements a pass sends (drift/statements.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configurations.models import Configuration
from configurations.normalize import rules_fingerprint
from drift import services
from drift.models import Baseline, BaselineEntry, DriftException, DriftFinding, PathActivity
from drift.suppression import glob_escape
from tenants.models import FindingTrendPoint, TenantStatus
from tenants.selectors import public_tenant
from tenants.services import update_settings
from tests.drift.helpers import detect, in_schema, open_findings, weaken_storage_tls

pytestmark = pytest.mark.django_db

TLS_PATH = "properties.minimumTlsVersion"


def _weaken_tls(collected, collect, sim_client) -> str:
    return weaken_storage_tls(collected, collect, sim_client)[0]


def _tls_finding(tenant, resource_id):
    return next(
        f for f in open_findings(tenant) if f.resource_id == resource_id and f.path == TLS_PATH
    )


def test_a_changed_tenant_or_msp_rule_applies_from_the_next_pass(collected, collect, sim_client):
    """The rule set is compiled once per process and content: a new settings version (a
    new document) must rate the very next pass, and going back must too."""
    rid = _weaken_tls(collected, collect, sim_client)
    detect(collected)
    first = _tls_finding(collected, rid)
    assert (first.severity, first.matched_rule) == ("high", "Storage TLS below 1.2")

    ours = {
        "name": "weak TLS is critical here",
        "resource_type": "microsoft.storage/storageaccounts",
        "path": "^properties\\.minimumTlsVersion$",
        "severity": "critical",
    }
    update_settings(collected, actor="t", drift_thresholds={"rules": [ours]})
    report = detect(collected)
    again = _tls_finding(collected, rid)
    assert again.pk == first.pk and report.opened == 0, "the same finding, re-rated"
    assert (again.severity, again.matched_rule) == ("critical", "weak TLS is critical here")
    assert TenantStatus.objects.get(tenant=collected).open_findings["critical"] >= 1

    msp = {**ours, "name": "MSP: weak TLS is low for us", "severity": "low"}
    update_settings(collected, actor="t", drift_thresholds={})
    update_settings(public_tenant(), actor="msp", drift_thresholds={"rules": [msp]})
    detect(collected)
    assert _tls_finding(collected, rid).matched_rule == "MSP: weak TLS is low for us"

    update_settings(public_tenant(), actor="msp", drift_thresholds={})
    detect(collected)
    assert _tls_finding(collected, rid).matched_rule == "Storage TLS below 1.2"


def test_approved_configs_are_renormalised_once_after_a_rules_change(
    collected, collect, sim_client, monkeypatch
):
    """Entries carry the fingerprint of the rules they were normalised under; only an
    entry from older rules is re-normalised, then stored with the current fingerprint."""
    fingerprint = rules_fingerprint()
    stamps = in_schema(
        collected, lambda: set(BaselineEntry.objects.values_list("normalized_with", flat=True))
    )
    assert stamps == {fingerprint}, "a new baseline is in the current form"

    rid = _weaken_tls(collected, collect, sim_client)
    in_schema(
        collected,
        lambda: BaselineEntry.objects.filter(resource_id=rid).update(normalized_with=""),
    )
    calls: list[str] = []
    renormalised = services._renormalised

    def counting(approved):
        calls.append(approved[0]["id"])
        return renormalised(approved)

    monkeypatch.setattr(services, "_renormalised", counting)
    detect(collected)
    assert calls == [rid]
    entry = in_schema(collected, lambda: BaselineEntry.objects.get(resource_id=rid))
    assert entry.normalized_with == fingerprint

    detect(collected)
    assert calls == [rid], "the next pass compares the stored form as it is"
    assert _tls_finding(collected, rid).severity == "high"


def test_a_steady_pass_sends_three_statements_and_keeps_the_status_current(collected):
    """Settings, baseline, moved resources and counts in one read; the report, the
    tenant's status row and today's trend point in one write (plus the schema switch)."""
    with CaptureQueriesContext(connection) as captured:
        report = detect(collected)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) <= 3, statements
    status = TenantStatus.objects.get(tenant=collected)
    assert status.last_detection_at == report.finished_at
    assert FindingTrendPoint.objects.filter(tenant=collected).exists()

    TenantStatus.objects.filter(tenant=collected).delete()
    detect(collected)
    assert TenantStatus.objects.get(tenant=collected).last_detection_at is not None


def test_a_pass_with_a_change_reads_what_it_compares_in_one_statement(
    collected, collect, sim_client
):
    """With a finding open, a pass that finds a change sends its context, one statement
    bringing both sides, the latest caller, the path activity, the unresolved findings
    and the flapping window, and its write (plus the schema switch); the activity it
    read is carried into the path's next event."""
    rid, _, weak = weaken_storage_tls(collected, collect, sim_client)
    first = detect(collected)
    assert _tls_finding(collected, rid).last_report_id == first.pk
    again = "TLS1_1" if weak == "TLS1_0" else "TLS1_0"
    sim_client.modify_resource(rid, {"properties": {"minimumTlsVersion": again}})
    collect(collected)
    with CaptureQueriesContext(connection) as captured:
        second = detect(collected)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) <= 4, statements
    activity = in_schema(
        collected, lambda: PathActivity.objects.get(resource_id=rid, path=TLS_PATH)
    )
    assert activity.report_ids == [first.pk, second.pk]


def test_a_scoped_baseline_compares_only_the_resources_under_its_prefix(
    collected, collect, sim_client
):
    group = in_schema(
        collected,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.storage/storageaccounts"
        ).first(),
    ).resource_id.split("/providers/", 1)[0]
    baseline = in_schema(
        collected, lambda: services.create_baseline(name="rg", actor="t", scope_prefix=group)
    )
    size = in_schema(collected, lambda: BaselineEntry.objects.filter(baseline=baseline).count())
    report = detect(collected)
    assert (report.resources_compared, report.opened) == (size, 0)
    assert report.baseline_id == baseline.pk

    outside = in_schema(
        collected,
        lambda: (
            Configuration.objects.exclude(resource_id__startswith=group)
            .filter(resource_type="microsoft.network/networksecuritygroups")
            .first()
        ),
    )
    if outside is not None:
        sim_client.open_inbound_port(outside.resource_id, caller="mallory@contoso.com")
    rid = _weaken_tls(collected, collect, sim_client)
    assert rid.startswith(group)
    detect(collected)
    assert {f.resource_id for f in open_findings(collected)} == {rid}
    assert in_schema(collected, lambda: Baseline.objects.get(active=True)).pk == baseline.pk


def test_ignored_and_excepted_findings_are_closed_by_the_next_pass(collected, collect, sim_client):
    """A rule or an exception added outside the findings' own actions (settings, admin):
    the next pass closes each finding with its own status, actor and exception."""
    rid = _weaken_tls(collected, collect, sim_client)
    nsg = in_schema(
        collected,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.network/networksecuritygroups"
        ).first(),
    )
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    collect(collected)
    detect(collected)
    tls = _tls_finding(collected, rid)
    ignored = next(f for f in open_findings(collected) if f.resource_id == nsg.resource_id)
    exception = in_schema(
        collected,
        lambda: DriftException.objects.create(
            resource_pattern=glob_escape(rid),
            path_pattern=TLS_PATH,
            accepted_value=tls.current_value,
            reason="migration",
            approved_by="t",
            expires_at=timezone.now() + timedelta(days=1),
        ),
    )
    rule = services.ignore_rule_for(ignored)
    update_settings(collected, actor="t", drift_thresholds={"rules": [rule]})
    report = detect(collected)
    rows = in_schema(
        collected,
        lambda: {
            f.pk: (f.status, f.status_changed_by, f.exception_id)
            for f in DriftFinding.objects.filter(pk__in=[tls.pk, ignored.pk])
        },
    )
    assert rows[ignored.pk][:2] == ("resolved", "ignore rule")
    assert rows[tls.pk] == ("accepted", f"exception #{exception.pk}", exception.pk)
    assert report.ignored >= 1 and report.suppressed == 1 and report.opened == 0
