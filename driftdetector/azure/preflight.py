"""Preflight: can this app registration read this customer tenant the way a pass needs to?

Checks, in order: a token for ARM; the subscriptions and their states; one cheap query
per Resource Graph table the collection reads; one Activity Log page; Microsoft Graph
audit logs (directory audits, then sign-ins, which also need an Entra ID P1/P2 licence).
Each check says ``ok``, ``warning``, ``failed`` or ``skipped`` and, when something is
missing, which permission, role or consent fixes it. Pure: no Django.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest

from .activitylog import probe_activity_log
from .clients import AzureConnection
from .errors import AzureAccessError, AzureAuthError, AzureThrottledError, translate
from .kqlquery import COLLECTION_QUERIES, TableQuery
from .resourcegraph import iter_resource_pages, list_subscriptions

OK, WARNING, FAILED, SKIPPED = "ok", "warning", "failed", "skipped"
TABLES = tuple(query.table for query in COLLECTION_QUERIES)
ACTIVE_STATES = ("Enabled",)
READER = (
    "assign the Reader role to the app's service principal on every subscription to watch "
    "(or on a management group above them)"
)
AUDIT_PERMISSION = (
    "add the Microsoft Graph application permission AuditLog.Read.All to the app "
    "registration and have a Global Administrator of this tenant grant admin consent"
)
LICENCE = (
    "sign-in logs need an Entra ID P1 or P2 licence in this tenant; everything else works "
    "without it"
)
_AADSTS_FIX = {
    "90002": "the tenant id is not known to Entra ID: check the tenant's Azure tenant id",
    "7000215": "the client secret is wrong: paste the secret's value (not its id) again",
    "7000222": "the client secret has expired: create a new one and save it on the credential",
    "700016": (
        "the app is not registered in this tenant: a Global Administrator must grant admin "
        "consent (open the admin consent URL for this tenant)"
    ),
    "700027": "the certificate does not match the one uploaded to the app registration",
    "65001": "admin consent is missing: open the admin consent URL for this tenant",
}
_AADSTS = re.compile(r"AADSTS(\d+)")


@dataclass
class Check:
    """One preflight check's outcome; ``fix`` says what to grant or change."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class PreflightReport:
    """All checks of one tenant; ``exit_code`` 0 ok, 1 warnings only, 2 failures."""

    tenant_id: str
    checks: list[Check] = field(default_factory=list)
    consent_url: str = ""

    @property
    def exit_code(self) -> int:
        statuses = {check.status for check in self.checks}
        return 2 if FAILED in statuses else 1 if WARNING in statuses else 0

    @property
    def summary(self) -> str:
        failed = [c.name for c in self.checks if c.status == FAILED]
        warned = [c.name for c in self.checks if c.status == WARNING]
        if failed:
            return f"{len(failed)} check(s) failed: {', '.join(failed)}"
        if warned:
            return f"all required checks passed; warnings: {', '.join(warned)}"
        return "all checks passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "consent_url": self.consent_url,
            "checks": [asdict(check) for check in self.checks],
        }


def _failure(name: str, exc: AzureAccessError, fix_for_denied: str) -> Check:
    """A failed check with the fix its error points to."""
    if isinstance(exc, AzureThrottledError):
        return Check(name, FAILED, exc.message, "Azure is throttling this app: run again later")
    code = _AADSTS.search(exc.message)
    if "unable to get authority configuration" in exc.message.lower():
        # MSAL's words when the tenant's OIDC metadata answers invalid_tenant (AADSTS90002).
        return Check(name, FAILED, exc.message, _AADSTS_FIX["90002"])
    if code and code.group(1) in _AADSTS_FIX:
        return Check(name, FAILED, exc.message, _AADSTS_FIX[code.group(1)])
    if isinstance(exc, AzureAuthError) or exc.status in (401, 403):
        return Check(name, FAILED, exc.message, fix_for_denied)
    return Check(name, FAILED, exc.message)


def _token(conn: AzureConnection) -> Check:
    try:
        conn.credential.get_token(conn.endpoints.arm_scope)
    except (AzureError, ValueError) as exc:
        return _failure("token", translate(exc, "getting a token"), "check the credential")
    return Check("token", OK, f"token for {conn.endpoints.arm_endpoint} acquired")


def _subscriptions(conn: AzureConnection) -> tuple[Check, list[str]]:
    try:
        subs = list_subscriptions(conn)
    except AzureAccessError as exc:
        return _failure("subscriptions", exc, READER), []
    if not subs:
        return Check("subscriptions", FAILED, "no subscription is visible to the app", READER), []
    inactive = [s for s in subs if s.state not in ACTIVE_STATES]
    active = [s.subscription_id for s in subs if s.state in ACTIVE_STATES]
    readable = [s.subscription_id for s in subs if s.state != "Deleted"]
    detail = f"{len(subs)} subscription(s) visible, {len(active)} Enabled"
    if inactive:
        listed = ", ".join(f"{s.display_name or s.subscription_id} ({s.state})" for s in inactive)
        return (
            Check(
                "subscriptions",
                WARNING,
                f"{detail}; not Enabled: {listed}",
                "Warned/PastDue subscriptions are read as usual; Disabled and Deleted ones "
                "are read-only or gone, so their resources may disappear from the inventory",
            ),
            readable,
        )
    return Check("subscriptions", OK, detail), active


def _table(conn: AzureConnection, query: TableQuery, subscriptions: list[str]) -> Check:
    """One page of one row of a collection query: the exact query a pass sends."""
    name = f"resource graph: {query.table}"
    if not subscriptions:
        return Check(name, SKIPPED, "no subscriptions to query")
    try:
        pages = iter_resource_pages(conn, subscriptions, queries=[query], page_size=1)
        page = next(pages)
        pages.close()
    except AzureAccessError as exc:
        return _failure(name, exc, READER)
    return Check(name, OK, f"query answered ({len(page.rows)} row(s) of a 1-row sample)")


def _activity_log(conn: AzureConnection, subscriptions: list[str]) -> Check:
    name = "activity log"
    if not subscriptions:
        return Check(name, SKIPPED, "no subscriptions to read")
    subscription = subscriptions[0]
    try:
        count = probe_activity_log(conn, subscription, datetime.now(UTC) - timedelta(hours=1))
    except AzureAccessError as exc:
        return _failure(name, exc, READER + " (it includes Microsoft.Insights/eventtypes/*/read)")
    return Check(name, OK, f"subscription {subscription}: {count} event(s) in the last hour")


def _graph_client(conn: AzureConnection) -> PipelineClient:
    endpoint = conn.endpoints.graph_endpoint.rstrip("/")
    return PipelineClient(
        base_url=endpoint,
        policies=[
            HeadersPolicy(),
            UserAgentPolicy(base_user_agent="azure-drift-detector-preflight"),
            RetryPolicy(retry_total=1, retry_backoff_factor=0.2),
            BearerTokenCredentialPolicy(conn.credential, f"{endpoint}/.default"),
        ],
        connection_verify=conn.endpoints.verify,
    )


def _graph_get(client: PipelineClient, path: str) -> tuple[int, dict[str, Any]]:
    response = client.send_request(HttpRequest("GET", path))
    try:
        body = json.loads(response.text() or "{}")
    except ValueError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}


def _graph_error(status: int, body: dict[str, Any]) -> tuple[str, str]:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    return code, f"Graph answered {status} {code}: {message}".strip()


def _graph_audits(conn: AzureConnection) -> list[Check]:
    base = conn.endpoints.graph_endpoint.rstrip("/")
    client = _graph_client(conn)
    checks = []
    try:
        status, body = _graph_get(client, f"{base}/v1.0/auditLogs/directoryAudits?$top=1")
        if status == 200:
            checks.append(Check("graph: directory audits", OK, "audit logs readable"))
        else:
            code, detail = _graph_error(status, body)
            fix = AUDIT_PERMISSION if status in (401, 403) else ""
            checks.append(Check("graph: directory audits", FAILED, detail, fix))
        status, body = _graph_get(client, f"{base}/v1.0/auditLogs/signIns?$top=1")
        code, detail = _graph_error(status, body)
        if status == 200:
            checks.append(Check("graph: sign-ins", OK, "sign-in logs readable"))
        elif code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant":
            checks.append(
                Check("graph: sign-ins", WARNING, "sign-ins unavailable (licence)", LICENCE)
            )
        else:
            fix = AUDIT_PERMISSION if status in (401, 403) else ""
            checks.append(Check("graph: sign-ins", FAILED, detail, fix))
    except (AzureError, ValueError) as exc:
        checks.append(_failure("graph", translate(exc, "Microsoft Graph"), AUDIT_PERMISSION))
    finally:
        client.close()
    return checks


def admin_consent_url(conn: AzureConnection) -> str:
    """Where a Global Administrator of the customer grants the app's permissions."""
    authority = conn.endpoints.authority_host.rstrip("/")
    return f"{authority}/{conn.tenant_id}/adminconsent?client_id={conn.client_id}"


def run_preflight(conn: AzureConnection) -> PreflightReport:
    """Run every check against one tenant; later checks are skipped when the token fails."""
    report = PreflightReport(conn.tenant_id, consent_url=admin_consent_url(conn))
    token = _token(conn)
    report.checks.append(token)
    if token.status == FAILED:
        rest = ["subscriptions", *(f"resource graph: {t}" for t in TABLES), "activity log"]
        report.checks.extend(Check(name, SKIPPED, "no token") for name in rest)
        report.checks.append(Check("graph", SKIPPED, "no token"))
        return report
    subscriptions, visible = _subscriptions(conn)
    report.checks.append(subscriptions)
    report.checks.extend(_table(conn, query, visible) for query in COLLECTION_QUERIES)
    report.checks.append(_activity_log(conn, visible))
    report.checks.extend(_graph_audits(conn))
    return report


__all__ = ["Check", "PreflightReport", "run_preflight"]
