"""Detection passes over collected configuration: findings open, persist, resolve, get accepted."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from configurations.models import Configuration
from drift import services
from drift.models import Baseline, BaselineEntry, DriftFinding, DriftReport
from tenants.models import Settings as TenantSettings
from tenants.models import TenantStatus
from tenants.services import update_settings
from tests.drift.helpers import detect, in_schema, open_findings, weaken_storage_tls
from tests.factories import DriftFindingFactory

pytestmark = pytest.mark.django_db


def open_ssh_to_internet(sim_client, tenant):
    nsg = in_schema(
        tenant,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.network/networksecuritygroups"
        ).first(),
    )
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    return nsg


def test_a_change_becomes_a_finding_with_severity_rule_and_caller(collected, collect, sim_client):
    nsg = open_ssh_to_internet(sim_client, collected)
    collect(collected)
    report = detect(collected)

    findings = open_findings(collected)
    assert report.opened == len(findings) >= 1
    critical = [f for f in findings if f.severity == "critical"]
    assert critical, [(f.path, f.severity) for f in findings]
    assert all(f.resource_id == nsg.resource_id for f in critical)
    assert critical[0].matched_rule.startswith("NSG inbound allow from anywhere")
    assert critical[0].changed_by == "mallory@contoso.com"
    status = TenantStatus.objects.get(tenant=collected)
    assert status.open_findings["critical"] >= 1 and status.last_detection_at is not None


def test_persisting_drift_updates_one_finding_and_a_revert_resolves_it(
    collected, collect, sim_client
):
    storage_id, original, weak = weaken_storage_tls(collected, collect, sim_client)
    first = detect(collected)
    finding = next(f for f in open_findings(collected) if f.path == "properties.minimumTlsVersion")
    assert (finding.severity, finding.current_value) == ("high", weak)

    collect(collected)
    second = detect(collected)
    again = [f for f in open_findings(collected) if f.path == "properties.minimumTlsVersion"]
    assert [f.pk for f in again] == [finding.pk], "one finding, not a new one per pass"
    assert again[0].last_seen > finding.last_seen and second.opened == 0 and first.opened >= 1

    sim_client.modify_resource(storage_id, {"properties": {"minimumTlsVersion": original}})
    collect(collected)
    third = detect(collected)
    resolved = in_schema(collected, lambda: DriftFinding.objects.get(pk=finding.pk))
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert third.resolved >= 1


def test_acknowledge_keeps_it_open_and_accept_moves_the_baseline(collected, collect, sim_client):
    open_ssh_to_internet(sim_client, collected)
    collect(collected)
    detect(collected)
    ids = [f.pk for f in open_findings(collected)]

    in_schema(collected, lambda: services.set_findings_status(ids, "acknowledged", actor="eve"))
    detect(collected)
    acknowledged = open_findings(collected)
    assert {f.status for f in acknowledged} == {"acknowledged"}
    assert {f.status_changed_by for f in acknowledged} == {"eve"}

    in_schema(collected, lambda: services.accept_into_baseline(ids, actor="eve"))
    report = detect(collected)
    assert open_findings(collected) == [] and report.opened == 0
    accepted = in_schema(
        collected,
        lambda: set(DriftFinding.objects.filter(pk__in=ids).values_list("status", flat=True)),
    )
    assert accepted == {"accepted"}


def test_a_baseline_resource_that_no_longer_exists_is_a_removed_finding(
    collected, collect, sim_client
):
    vault = in_schema(
        collected,
        lambda: Configuration.objects.filter(resource_type="microsoft.keyvault/vaults").first(),
    )
    sim_client.delete_resource(vault.resource_id)
    collect(collected)
    detect(collected)
    removed = [f for f in open_findings(collected) if f.resource_id == vault.resource_id]
    assert [(f.kind, f.path) for f in removed] == [("removed", "")]
    assert removed[0].baseline_value["id"] == vault.resource_id


@pytest.mark.parametrize("pattern", ["(", r"^([a-zA-Z.]+)+\d$"])
def test_invalid_or_catastrophic_rules_are_refused_at_save_and_cannot_stop_detection(
    collected, collect, sim_client, pattern
):
    thresholds = {
        "rules": [
            {"resource_type": "*", "path": "^tags", "severity": "ignore"},
            {"resource_type": "*", "path": pattern, "severity": "low"},
        ]
    }
    with pytest.raises(ValidationError) as excinfo:
        update_settings(collected, actor="t", drift_thresholds=thresholds)
    [message] = excinfo.value.message_dict["drift_thresholds"]
    assert "tenant rule 2 path" in message and pattern in message
    # A document stored before validation existed (or written around it) is not fatal:
    # the bad rule is left out and named on the report, the good ones still apply.
    version = update_settings(collected, actor="t")
    TenantSettings.objects.filter(pk=version.pk).update(drift_thresholds=thresholds)
    nsg = open_ssh_to_internet(sim_client, collected)
    sim_client.modify_resource(nsg.resource_id, {"tags": {"attacker": "x" * 5000 + "!"}})
    collect(collected)
    report = detect(collected)
    assert "invalid rules left out" in report.error and "tenant rule 2" in report.error
    paths = {f.path for f in open_findings(collected)}
    assert any(p.startswith("properties.securityRules.") for p in paths)
    assert not any(p.startswith("tags") for p in paths), "the valid ignore rule still applies"


def test_baseline_from_a_resource_group_covers_only_it(collected):
    rg = in_schema(
        collected,
        lambda: Configuration.objects.filter(
            resource_type="microsoft.resources/subscriptions/resourcegroups"
        ).first(),
    )
    baseline = in_schema(
        collected,
        lambda: services.create_baseline(name="rg", actor="t", scope_prefix=rg.resource_id),
    )
    entries = in_schema(
        collected,
        lambda: list(
            BaselineEntry.objects.filter(baseline=baseline).values_list("resource_id", flat=True)
        ),
    )
    assert entries and all(e.startswith(rg.resource_id) for e in entries)
    assert in_schema(collected, lambda: Baseline.objects.filter(active=True).count()) == 1


def test_detect_drift_command_exit_codes(collected, collect, sim_client, capsys):
    with pytest.raises(SystemExit) as clean:
        call_command("detect_drift", tenant=collected.slug)
    assert clean.value.code == 0
    open_ssh_to_internet(sim_client, collected)
    collect(collected)
    with pytest.raises(SystemExit) as drifted:
        call_command("detect_drift", tenant=collected.slug, format="json")
    assert drifted.value.code == 1
    body = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {row["severity"] for row in body["open_findings"]} >= {"critical"}
    assert all(row["tenant"] == collected.slug for row in body["open_findings"])
    with pytest.raises(SystemExit) as error:
        call_command("detect_drift", tenant="no-such-tenant")
    assert error.value.code == 2


def test_detect_drift_command_publishes_detection_finished(
    collected, collect, sim_client, monkeypatch, django_capture_on_commit_callbacks
):
    """A manual pass queues the notification evaluation of its report, as the task does."""
    from driftdetector.celery import app

    sent = []
    monkeypatch.setattr(
        app, "send_task", lambda name, **kw: sent.append((name, kw["kwargs"], kw["queue"]))
    )
    open_ssh_to_internet(sim_client, collected)
    collect(collected)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SystemExit):
        call_command("detect_drift", tenant=collected.slug, format="json")
    latest = in_schema(collected, lambda: DriftReport.objects.order_by("-pk").first())
    assert sent == [("notifications.tasks.evaluate_report", {"report_id": latest.pk}, "notify")]


@pytest.mark.parametrize(
    "url",
    [
        "/t/{slug}/admin/drift/driftfinding/",
        "/t/{slug}/admin/drift/driftfinding/{pk}/change/",
        "/t/{slug}/admin/drift/driftreport/",
        "/t/{slug}/admin/drift/baseline/",
    ],
)
def test_drift_pages_are_isolated_between_tenants(
    assert_isolated, url, tenant_a, msp_engineer, customer_b
):
    finding = in_schema(
        tenant_a,
        lambda: DriftFindingFactory(
            resource_id="/subscriptions/s/resourcegroups/rg/providers/x/y/secret-vm-ü",
            changed_by="oscar@contoso.com",
        ),
    )
    assert_isolated(
        url.replace("{pk}", str(finding.pk)),
        tenant=tenant_a,
        owner=msp_engineer,
        intruder=customer_b,
        secrets=("secret-vm", "oscar@contoso.com"),
    )
