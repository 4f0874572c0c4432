"""Incremental detection: a pass examines only the resources whose present hash moved
since the hash it last compared, while what it compares against is unchanged; anything
else makes it compare every resource. The invariant: a full check right after an
incremental pass finds nothing new and reports the same totals."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from configurations.models import Configuration
from drift import services, statements
from drift.models import DriftException, DriftFinding
from tenants.selectors import public_tenant
from tenants.services import update_settings
from tests.drift.helpers import detect, in_schema, open_findings, weaken_storage_tls

pytestmark = pytest.mark.django_db

CHANGEABLE = (
    "microsoft.storage/storageaccounts",
    "microsoft.keyvault/vaults",
    "microsoft.network/networksecuritygroups",
)
IGNORE_TAGS = {
    "name": "tags are ours to change",
    "resource_type": "*",
    "path": "^tags(\\.|$)",
    "severity": "ignore",
}


def _totals(report) -> dict:
    return {
        "compared": report.resources_compared,
        "drifted": report.resources_drifted,
        "by_kind": report.by_kind,
        "by_severity": report.by_severity,
        "ignored": report.ignored,
        "suppressed": report.suppressed,
    }


def _findings(tenant) -> set[tuple]:
    return {
        (f.resource_id, f.path, f.severity, repr(f.current_value)) for f in open_findings(tenant)
    }


def _incremental(report) -> bool:
    return report.full_check_at is not None and report.full_check_at < report.started_at


def _recording(monkeypatch) -> list[list[str]]:
    """The resource ids each pass compares (services.find_drift), when it compares any."""
    calls: list[list[str]] = []
    original = services.find_drift

    def recording(baseline_id, resource_ids, unresolved_fields=None):
        if resource_ids:
            calls.append(sorted(resource_ids))
        return original(baseline_id, resource_ids, unresolved_fields)

    monkeypatch.setattr(services, "find_drift", recording)
    return calls


@pytest.mark.parametrize("batch", [statements.BATCH, 3])
def test_incremental_passes_agree_with_a_full_check(
    collected, collect, sim_client, monkeypatch, batch
):
    """Random changes, deletions and reverts over six rounds (with an ignore rule and,
    from the third round, an exception): after each incremental pass a full check
    opens and resolves nothing, rates nothing differently and reports the same totals,
    whether one statement reads what a pass compares or several batches do."""
    monkeypatch.setattr(statements, "BATCH", batch)
    update_settings(collected, actor="t", drift_thresholds={"rules": [IGNORE_TAGS]})
    assert not _incremental(detect(collected)), "a rules change: every resource compared"
    ids = in_schema(
        collected,
        lambda: sorted(
            Configuration.objects.filter(resource_type__in=CHANGEABLE).values_list(
                "resource_id", flat=True
            )
        ),
    )
    assert len(ids) >= 6
    rng = random.Random(7)
    alive = list(ids)
    incremental_rounds = 0
    for round_no in range(6):
        for rid in rng.sample(alive, 3):
            action = rng.choice(["open", "open", "tags", "revert", "delete"])
            if action == "delete":
                sim_client.delete_resource(rid, caller="mallory@contoso.com")
                alive.remove(rid)
            elif action == "revert":
                sim_client.modify_resource(rid, {"properties": {"publicNetworkAccess": "Disabled"}})
            elif action == "tags":
                sim_client.modify_resource(rid, {"tags": {"round": str(round_no)}})
            elif "networksecuritygroups" in rid:
                sim_client.open_inbound_port(rid, caller="mallory@contoso.com")
            else:
                sim_client.modify_resource(
                    rid,
                    {
                        "tags": {"round": str(round_no)},
                        "properties": {"publicNetworkAccess": "Enabled"},
                    },
                )
        collect(collected)
        incremental = detect(collected)
        incremental_rounds += _incremental(incremental)
        findings = _findings(collected)
        full = detect(collected, full=True)
        assert (full.opened, full.resolved) == (0, 0), f"round {round_no}"
        assert _totals(full) == _totals(incremental), f"round {round_no}"
        assert _findings(collected) == findings, f"round {round_no}"
        if round_no == 2:
            finding = next(iter(open_findings(collected)))
            in_schema(
                collected,
                lambda f=finding: services.create_exceptions(
                    [f.pk],
                    reason="change window",
                    expires_at=timezone.now() + timedelta(days=1),
                    actor="t",
                ),
            )
    assert incremental_rounds == 5, "all but the round after the exception was made"
    assert any(_totals(full)[name] for name in ("ignored", "suppressed"))


def test_a_pass_examines_only_what_changed_and_carries_the_rest(
    collected, collect, sim_client, monkeypatch
):
    calls = _recording(monkeypatch)
    rid = weaken_storage_tls(collected, collect, sim_client)[0]
    first = detect(collected)
    assert _incremental(first) and calls == [[rid]]
    assert first.opened >= 1 and first.resources_drifted == 1

    calls.clear()
    steady = detect(collected)
    assert calls == [], "nothing changed: nothing compared"
    assert _incremental(steady) and (steady.opened, steady.resolved) == (0, 0)
    assert _totals(steady) == _totals(first)
    finding = next(f for f in open_findings(collected) if f.resource_id == rid)
    assert finding.last_report_id == steady.pk, "an unchanged drift is seen again"

    rows = in_schema(
        collected,
        lambda: (
            Configuration.objects.filter(resource_id=rid)
            .values_list("config_hash", "detected_hash")
            .get()
        ),
    )
    assert rows[0] == rows[1], "compared at its present hash"


def test_a_change_stored_while_a_pass_runs_is_examined_by_the_next(
    collected, collect, sim_client, monkeypatch
):
    """A collection that commits after the pass read what is pending loses nothing: the
    row keeps a present hash other than the one compared, so it is still pending."""
    storage = in_schema(
        collected,
        lambda: Configuration.objects.filter(resource_type=CHANGEABLE[0]).first().resource_id,
    )
    read = statements.detection_context

    def and_then_a_change(*args):
        context = read(*args)
        assert weaken_storage_tls(collected, collect, sim_client)[0] == storage
        return context

    monkeypatch.setattr(statements, "detection_context", and_then_a_change)
    during = detect(collected)
    monkeypatch.setattr(statements, "detection_context", read)
    assert during.opened == 0
    hashes = in_schema(
        collected,
        lambda: (
            Configuration.objects.filter(resource_id=storage)
            .values_list("config_hash", "detected_hash")
            .get()
        ),
    )
    assert hashes[0] != hashes[1], "still pending"
    after = detect(collected)
    assert _incremental(after) and after.opened >= 1
    assert any(f.resource_id == storage for f in open_findings(collected))


def _change_tenant_rules(tenant):
    rule = {**IGNORE_TAGS, "name": "ours", "severity": "low"}
    update_settings(tenant, actor="t", drift_thresholds={"rules": [rule]})


def _change_msp_rules(tenant):
    rule = {**IGNORE_TAGS, "name": "msp", "severity": "low"}
    update_settings(public_tenant(), actor="msp", drift_thresholds={"rules": [rule]})


def _accept_a_finding(tenant):
    finding = open_findings(tenant)[0]
    in_schema(tenant, lambda: services.accept_into_baseline([finding.pk], actor="t"))


def _add_an_exception(tenant):
    return in_schema(
        tenant,
        lambda: DriftException.objects.create(
            resource_pattern="*",
            path_pattern="properties.nothing",
            accepted_value=None,
            reason="r",
            approved_by="t",
            expires_at=timezone.now() + timedelta(days=1),
        ),
    )


def _let_an_exception_expire(tenant):
    exception = _add_an_exception(tenant)
    assert not _incremental(detect(tenant))
    assert _incremental(detect(tenant))
    in_schema(
        tenant,
        lambda: DriftException.objects.filter(pk=exception.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        ),
    )


def _new_baseline(tenant):
    in_schema(tenant, lambda: services.create_baseline(name="again", actor="t"))


def _new_normalisation_rules(tenant, monkeypatch):
    monkeypatch.setattr(services, "rules_fingerprint", lambda: "other rules")


def _old_full_check(tenant, monkeypatch, settings):
    settings.DRIFT_FULL_CHECK_SECONDS = 0


@pytest.mark.parametrize(
    "change",
    [
        _change_tenant_rules,
        _change_msp_rules,
        _accept_a_finding,
        _add_an_exception,
        _let_an_exception_expire,
        _new_baseline,
        _new_normalisation_rules,
        _old_full_check,
    ],
)
def test_what_a_pass_compares_against_changing_makes_it_compare_everything(
    change, collected, collect, sim_client, monkeypatch, settings
):
    weaken_storage_tls(collected, collect, sim_client)
    assert _incremental(detect(collected))
    if change in (_new_normalisation_rules, _old_full_check):
        change(collected, monkeypatch, *([settings] if change is _old_full_check else []))
    else:
        change(collected)
    report = detect(collected)
    assert not _incremental(report) and report.full_check_at == report.started_at
    assert report.detection_key
    if change is not _new_baseline:
        assert _incremental(detect(collected)) or change is _old_full_check


def test_a_finding_of_an_unexamined_resource_stays_open(collected, collect, sim_client):
    tls = weaken_storage_tls(collected, collect, sim_client)[0]
    detect(collected)
    nsg = in_schema(
        collected,
        lambda: Configuration.objects.filter(resource_type=CHANGEABLE[2]).first().resource_id,
    )
    sim_client.open_inbound_port(nsg, caller="mallory@contoso.com")
    collect(collected)
    report = detect(collected)
    assert _incremental(report)
    statuses = in_schema(
        collected,
        lambda: set(
            DriftFinding.objects.filter(resource_id__in=[tls, nsg]).values_list(
                "resource_id", "status"
            )
        ),
    )
    assert statuses == {(tls, "open"), (nsg, "open")}
    assert report.resources_drifted == 2


def test_a_pass_that_fails_leaves_what_it_examined_pending(
    collected, collect, sim_client, monkeypatch
):
    """Nothing of a failed pass is written (its writes are one statement at the end), so
    the next pass examines the same resources and opens their findings."""
    rid = weaken_storage_tls(collected, collect, sim_client)[0]

    def broken(*args, **kwargs):
        raise ConnectionError("PostgreSQL went away")

    monkeypatch.setattr(statements, "write_pass", broken)
    with pytest.raises(ConnectionError):
        detect(collected)
    monkeypatch.undo()
    assert in_schema(collected, lambda: Configuration.objects.get(resource_id=rid).drift_pending), (
        "still pending"
    )
    report = detect(collected)
    assert _incremental(report) and report.opened >= 1
    assert any(f.resource_id == rid for f in open_findings(collected))


def test_after_a_pass_stopped_by_its_time_limit_the_next_compares_everything(collected):
    """The stopped pass's report (drift.tasks) has no detection key."""
    from drift.models import DriftReport

    now = timezone.now()
    in_schema(
        collected,
        lambda: DriftReport.objects.create(started_at=now, finished_at=now, error="stopped"),
    )
    report = detect(collected)
    assert not _incremental(report)
