"""Graph audit logs in the simulator: consented, missing permission, unlicensed tenant."""

from __future__ import annotations

import pytest

from azuresim.client import SimControlError
from tests.azuresim.helpers import arm_get, raw_get

AUDITS = "/v1.0/auditLogs/directoryAudits?$top=1"
SIGN_INS = "/v1.0/auditLogs/signIns?$top=1"


def test_audits_and_sign_ins_answer_like_graph_when_consented_and_licensed(sim, make_tenant):
    tenant = make_tenant(resources=0, subscriptions=0)
    for path, entity in ((AUDITS, "directoryAudits"), (SIGN_INS, "signIns")):
        response = arm_get(sim, tenant, path)
        assert response.status_code == 200
        body = response.json()
        assert body["@odata.context"].endswith(f"/v1.0/$metadata#auditLogs/{entity}")
        assert len(body["value"]) == 1


def test_a_missing_permission_and_a_missing_licence_are_graph_403s(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=0, subscriptions=0)
    sim_client.set_graph_access(tenant["tenant_id"], premium=False)
    assert arm_get(sim, tenant, AUDITS).status_code == 200, "audit logs need no licence"
    unlicensed = arm_get(sim, tenant, SIGN_INS)
    assert unlicensed.status_code == 403
    error = unlicensed.json()["error"]
    assert error["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}

    sim_client.set_graph_access(tenant["tenant_id"], permissions=[])
    for path in (AUDITS, SIGN_INS):
        denied = arm_get(sim, tenant, path)
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_bad_requests_and_anonymous_calls_are_refused(sim, sim_client, make_tenant):
    tenant = make_tenant(resources=0, subscriptions=0)
    assert raw_get(sim, AUDITS).status_code == 401
    bad = arm_get(sim, tenant, "/v1.0/auditLogs/signIns?$top=0")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
    with pytest.raises(SimControlError) as wrong:
        sim_client.set_graph_access(tenant["tenant_id"], permissions="AuditLog.Read.All")
    assert wrong.value.status == 400
    with pytest.raises(SimControlError) as negative:
        sim_client.set_activity_lag(-1)
    assert negative.value.status == 400
    with pytest.raises(SimControlError) as missing:
        sim_client.invoke_action(
            f"/subscriptions/{tenant['tenant_id']}/resourceGroups/none", "listKeys"
        )
    assert missing.value.status == 404
