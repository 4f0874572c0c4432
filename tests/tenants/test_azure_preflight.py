"""``manage.py azure_preflight`` and the admin's Test connection, against the simulator."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants.preflight import azure_preflight

pytestmark = pytest.mark.django_db

TABLE_CHECKS = [
    "resource graph: resources",
    "resource graph: resourcecontainers",
    "resource graph: authorizationresources",
    "resource graph: policyresources",
]


@pytest.fixture
def graph_access(sim_client, tenant_a):
    """Set the app's Graph access in tenant_a; restored to consented + licensed after."""
    yield lambda **access: sim_client.set_graph_access(tenant_a.azure_tenant_id, **access)
    sim_client.set_graph_access(
        tenant_a.azure_tenant_id, permissions=["AuditLog.Read.All"], premium=True
    )


def run(slug: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("azure_preflight", "--tenant", slug, *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def statuses(report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_a_well_set_up_tenant_passes_every_check_and_exits_0(tenant_a, azure_tenant, sim_client):
    simulated = azure_tenant(tenant_a, subscriptions=2, resources=40)
    code, out = run("tenant-a", "--json")
    report = json.loads(out)
    assert code == 0 == report["exit_code"], out
    names = [check["name"] for check in report["checks"]]
    assert names == [
        "token",
        "subscriptions",
        *TABLE_CHECKS,
        "activity log",
        "graph: directory audits",
        "graph: sign-ins",
    ]
    assert all(check["status"] == "ok" for check in report["checks"]), out
    assert report["consent_url"].endswith(
        f"/{tenant_a.azure_tenant_id}/adminconsent?client_id={simulated['client_id']}"
    )
    assert sim_client.stats()["graph.signins"] >= 1


def test_a_wrong_secret_fails_the_token_names_the_fix_and_skips_the_rest(
    tenant_a, azure_tenant, sim_client
):
    azure_tenant(tenant_a)
    from tenants.services import save_azure_credential

    tenant_a.azure_credential = save_azure_credential(
        name=f"wrong {uuid.uuid4().hex[:6]}",
        client_id=tenant_a.azure_credential.client_id,
        client_secret="not-the-secret",
    )
    tenant_a.save(update_fields=["azure_credential"])
    code, out = run("tenant-a")
    assert code == 2
    assert "FAIL  token" in out and "AADSTS7000215" in out
    assert "the client secret is wrong" in out
    assert out.count("SKIP") == 7
    assert "not-the-secret" not in out


def test_an_unknown_tenant_id_is_aadsts90002_with_its_fix(tenant_a, azure_tenant):
    azure_tenant(tenant_a)
    tenant_a.azure_tenant_id = str(uuid.uuid4())  # a typo: Entra knows no such tenant
    report = azure_preflight(tenant=tenant_a)
    token = report.checks[0]
    assert (token.name, token.status) == ("token", "failed")
    assert "tenant id is not known" in token.fix, token.detail


def test_no_subscriptions_means_reader_is_missing(tenant_a, azure_tenant):
    azure_tenant(tenant_a, subscriptions=0, resources=0)
    report = azure_preflight(tenant=tenant_a)
    assert report.exit_code == 2
    subs = next(c for c in report.checks if c.name == "subscriptions")
    assert subs.status == "failed" and "Reader role" in subs.fix
    assert {statuses(report)[name] for name in [*TABLE_CHECKS, "activity log"]} == {"skipped"}


def test_missing_audit_permission_fails_and_an_unlicensed_tenant_only_warns(
    tenant_a, azure_tenant, graph_access
):
    azure_tenant(tenant_a, resources=20)
    graph_access(permissions=[])
    denied = azure_preflight(tenant=tenant_a)
    audits = next(c for c in denied.checks if c.name == "graph: directory audits")
    assert audits.status == "failed" and "Authorization_RequestDenied" in audits.detail
    assert "AuditLog.Read.All" in audits.fix and "admin consent" in audits.fix

    graph_access(permissions=["AuditLog.Read.All"], premium=False)
    unlicensed = azure_preflight(tenant=tenant_a)
    sign_ins = next(c for c in unlicensed.checks if c.name == "graph: sign-ins")
    assert (sign_ins.status, sign_ins.detail) == ("warning", "sign-ins unavailable (licence)")
    assert statuses(unlicensed)["graph: directory audits"] == "ok"
    assert unlicensed.exit_code == 1


def test_a_throttled_resource_graph_is_reported_not_waited_out(tenant_a, azure_tenant, sim_client):
    azure_tenant(tenant_a, resources=20)
    sim_client.add_fault(
        action="status",
        status=429,
        retry_after=1,
        path_regex="ResourceGraph",
        count=None,
        tenant_id=tenant_a.azure_tenant_id,
    )
    report = azure_preflight(tenant=tenant_a)
    table = next(c for c in report.checks if c.name == "resource graph: resources")
    assert table.status == "failed" and "throttl" in table.fix
    assert statuses(report)["activity log"] == "ok", "other checks still run"


def test_a_role_without_activity_log_read_is_named(tenant_a, azure_tenant, sim_client):
    azure_tenant(tenant_a, resources=20)
    sim_client.add_fault(
        action="status",
        status=403,
        path_regex="eventtypes",
        count=None,
        tenant_id=tenant_a.azure_tenant_id,
    )
    report = azure_preflight(tenant=tenant_a)
    activity = next(c for c in report.checks if c.name == "activity log")
    assert activity.status == "failed" and "AuthorizationFailed" in activity.detail
    assert "Reader role" in activity.fix and "Microsoft.Insights/eventtypes" in activity.fix
    assert report.exit_code == 2


def test_an_unknown_slug_or_a_missing_credential_exits_3(tenant_b):
    with pytest.raises(CommandError) as unknown:
        call_command("azure_preflight", "--tenant", "no-such-tenant")
    assert unknown.value.returncode == 3
    tenant_b.azure_credential = None
    tenant_b.save(update_fields=["azure_credential"])
    with pytest.raises(CommandError, match="no Azure credential") as missing:
        call_command("azure_preflight", "--tenant", "tenant-b")
    assert missing.value.returncode == 3


def test_the_admin_test_connection_action_shows_each_problem_and_its_fix(
    client_for, msp_admin, tenant_a, azure_tenant, graph_access
):
    azure_tenant(tenant_a, resources=20)
    graph_access(premium=False)
    response = client_for(msp_admin).post(
        "/admin/tenants/tenant/", {"action": "test_connection", "_selected_action": [tenant_a.pk]}
    )
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("tenant-a: all required checks passed; warnings") for m in shown)
    assert any("graph: sign-ins: sign-ins unavailable (licence)" in m for m in shown), shown
