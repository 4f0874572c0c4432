"""Reads behind the onboarding screen: the Test connection target, its explained checks,
and the first poll's progress."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django_tenants.utils import schema_context

from driftdetector.azure.preflight import PreflightReport
from tenants.models import AzureCredential, Tenant
from tenants.validation import normalise_azure_tenant_id, normalise_guid

# What Azure's error codes mean, in the words an operator needs (Entra ID's AADSTS codes
# and Microsoft Graph's error codes that the preflight can meet).
ERROR_CODES = {
    "AADSTS90002": "Entra ID does not know this tenant id.",
    "AADSTS700016": "The application is not registered (not consented) in this tenant.",
    "AADSTS7000215": "The client secret is not valid for this application.",
    "AADSTS7000222": "The client secret has expired.",
    "AADSTS700027": "The certificate does not match one registered on the application.",
    "AADSTS65001": "Nobody has consented to the application's permissions in this tenant.",
    "AADSTS900023": "The tenant id is malformed.",
    "Authorization_RequestDenied": "Graph refused: the app lacks the permission.",
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant": (
        "Sign-in logs need an Entra ID P1/P2 licence in this tenant."
    ),
    "AuthorizationFailed": "Azure RBAC refused: the app has no Reader role on the scope.",
    "InvalidAuthenticationTokenTenant": "The token was issued by another tenant.",
}
_CODE = re.compile(r"\b(AADSTS\d+|[A-Z][A-Za-z]+_[A-Za-z]+|AuthorizationFailed|InvalidAuth\w+)")


def preflight_target(data: QueryDict) -> Tenant:
    """An unsaved tenant (with its credential) to test, from the onboarding or tenant form.

    ``tenant`` (pk) tests a stored tenant with an optionally changed credential; otherwise
    the Azure tenant id plus a stored credential or a new client id and secret are tested.
    Raises ValidationError with a sentence per missing piece.
    """
    tenant = (
        Tenant.objects.filter(pk=data.get("tenant") or 0).first() if data.get("tenant") else None
    )
    problems: list[str] = []
    tenant_id = tenant.azure_tenant_id if tenant else ""
    if tenant is None:
        try:
            tenant_id = normalise_azure_tenant_id(data.get("azure_tenant_id", ""))
        except ValidationError as exc:
            problems.extend(exc.messages)
    credential = None
    if data.get("azure_credential"):
        credential = AzureCredential.objects.filter(pk=data["azure_credential"]).first()
        if credential is None:
            problems.append("The chosen credential no longer exists.")
    elif data.get("new_client_id") or data.get("new_client_secret"):
        try:
            client_id = normalise_guid(data.get("new_client_id", ""), field="client_id")
        except ValidationError:
            problems.append("The application (client) id must be a GUID.")
            client_id = ""
        if not data.get("new_client_secret"):
            problems.append("Enter the new credential's client secret.")
        credential = AzureCredential(
            name="(unsaved)", client_id=client_id, client_secret=data.get("new_client_secret", "")
        )
    elif tenant is not None:
        credential = tenant.azure_credential
    if credential is None and not problems:
        problems.append("Pick an Azure credential or enter a new client id and secret.")
    if problems:
        raise ValidationError(problems)
    return Tenant(
        name=tenant.name if tenant else "",
        slug=tenant.slug if tenant else "preflight",
        azure_tenant_id=tenant_id,
        azure_credential=credential,
    )


def explained_checks(report: PreflightReport) -> list[dict[str, Any]]:
    """The report's checks with each Azure error code found in them and what it means."""
    rows = []
    for check in report.checks:
        codes = []
        for code in dict.fromkeys(_CODE.findall(check.detail)):
            if code in ERROR_CODES:
                codes.append({"code": code, "meaning": ERROR_CODES[code]})
        rows.append(
            {
                "name": check.name,
                "status": check.status,
                "detail": check.detail,
                "fix": check.fix,
                "codes": codes,
            }
        )
    return rows


def poll_progress(*, tenant: Tenant) -> dict[str, Any]:
    """The tenant's poll state for its page: status row, last passes, whether one runs."""
    from configurations.models import PollRun
    from tenants.models import TenantStatus

    status = TenantStatus.objects.filter(tenant=tenant).first()
    with schema_context(tenant.schema_name):
        runs = list(PollRun.objects.order_by("-started_at")[:5])
    return {
        "tenant": tenant,
        "poll_status": status,
        "poll_runs": runs,
        "poll_running": bool(runs and runs[0].status == PollRun.Status.RUNNING),
        "has_credential": tenant.azure_credential_id is not None,
    }
