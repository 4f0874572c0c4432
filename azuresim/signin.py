"""Interactive sign-in of the Microsoft identity platform v2.0 (authorization-code flow).

A user directory per tenant id (independent of the resource estates, so the MSP's own
tenant can have users and no resources), registered web apps (the MSP's one multi-tenant
app registration), single-use codes bound to client, redirect URI and nonce, id tokens
with Entra's v2 claims signed by the simulator's key, refresh tokens, and one-shot
faults that spoil the next id token (for tests of the relying party's validation).
"""

from __future__ import annotations

import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .tenants import derived_guid
from .wire import SimRequest, SimResponse, json_response

CODE_LIFETIME = 600
ID_TOKEN_LIFETIME = 3600
# Optional claims an app registration can add to its id tokens (Entra sends none of them
# unless configured; ``email`` also needs the user to have a mailbox address).
OPTIONAL_CLAIMS = ("email", "given_name", "family_name")
SIGNIN_FAULTS = ("wrong_audience", "expired", "bad_signature", "wrong_nonce", "wrong_issuer")
MULTI_TENANT = ("common", "organizations", "consumers")


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    user: dict[str, Any]
    scope: str
    expires: float


@dataclass
class Directory:
    """Apps, users, outstanding codes and refresh tokens, and the next sign-in fault."""

    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    fault: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        optional_claims: list[str] | None = None,
    ) -> dict:
        """A web app registration; ``optional_claims`` are the id token's optional claims
        configured for it (``email``, ``given_name``, ``family_name``; none by default)."""
        unknown = set(optional_claims or ()) - set(OPTIONAL_CLAIMS)
        if unknown:
            raise ValueError(f"unsupported optional claims: {', '.join(sorted(unknown))}")
        app = {
            "client_id": client_id.lower(),
            "client_secret": client_secret,
            "redirect_uris": list(redirect_uris),
            "optional_claims": list(optional_claims or ()),
        }
        self.apps[client_id.lower()] = app
        return {
            "client_id": app["client_id"],
            "redirect_uris": app["redirect_uris"],
            "optional_claims": app["optional_claims"],
        }

    def add_user(
        self,
        tenant_id: str,
        upn: str,
        given_name: str = "",
        family_name: str = "",
        oid: str | None = None,
        mail: str | None = None,
    ) -> dict[str, Any]:
        """A member user: ``upn`` is the sign-in name (``preferred_username``); ``mail`` the
        mailbox address, which may differ from the UPN (``None``: same as the UPN, ``""``:
        no mailbox)."""
        tenant_id = tenant_id.lower()
        user = {
            "tid": tenant_id,
            "oid": oid or derived_guid("user", tenant_id, upn.lower()),
            "upn": upn,
            "mail": upn if mail is None else mail,
            "preferred_username": upn,
            "given_name": given_name,
            "family_name": family_name,
            "name": f"{given_name} {family_name}".strip() or upn,
        }
        users = [u for u in self.users.get(tenant_id, []) if u["upn"].lower() != upn.lower()]
        self.users[tenant_id] = [*users, user]
        return user

    def add_user_from_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        """``{tenant_id, upn | email, mail, given_name, family_name, oid}``: with only
        ``email``, it is both the UPN and the mailbox; with ``upn``, ``email`` (or ``mail``)
        is the mailbox address."""
        upn = data.get("upn") or data.get("email")
        if not upn or not data.get("tenant_id"):
            raise ValueError("a user needs tenant_id and upn (or email)")
        mail = data.get("mail", data.get("email")) if data.get("upn") else None
        return self.add_user(
            str(data["tenant_id"]),
            str(upn),
            str(data.get("given_name", "")),
            str(data.get("family_name", "")),
            data.get("oid"),
            None if mail is None else str(mail),
        )

    def candidates(self, tenant: str) -> list[dict[str, Any]]:
        if tenant in MULTI_TENANT:
            return [user for users in self.users.values() for user in users]
        return list(self.users.get(tenant, []))


def _page(status: int, title: str, body: str) -> SimResponse:
    text = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return SimResponse(status=status, body=text.encode(), content_type="text/html; charset=utf-8")


def _redirect(uri: str, params: dict[str, str]) -> SimResponse:
    sep = "&" if "?" in uri else "?"
    return SimResponse(status=302, headers={"Location": f"{uri}{sep}{urlencode(params)}"})


def authorize(
    directory: Directory, req: SimRequest, tenant: str, known_tenant: bool = True
) -> SimResponse:
    """``GET|POST /{tenant}/oauth2/v2.0/authorize``: pick an account, get a code.

    An unknown tenant gets Entra's error page (AADSTS90002), not a redirect.
    """
    tenant = tenant.lower()
    if not known_tenant:
        return _page(
            400,
            "AADSTS90002: Tenant not found",
            f"<p>Tenant '{html.escape(tenant)}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud.</p>",
        )
    params = dict(req.query)
    if req.method == "POST":
        params.update(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    app = directory.apps.get(params.get("client_id", "").lower())
    if app is None:
        return _page(
            400,
            "AADSTS700016: application not found",
            "<p>The app is not registered in this directory.</p>",
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app["redirect_uris"]:
        return _page(
            400,
            "AADSTS50011: redirect URI mismatch",
            f"<p>{html.escape(redirect_uri)} is not registered for the app.</p>",
        )
    state = params.get("state", "")
    if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
        return _redirect(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "AADSTS700054: use response_type=code with scope openid.",
                "state": state,
            },
        )
    candidates = directory.candidates(tenant)
    hint = (params.get("login_hint") or params.get("username") or "").lower()
    chosen = next((u for u in candidates if u["upn"].lower() == hint), None)
    if chosen is None:
        if req.method == "POST" and hint:
            return _page(400, "AADSTS50034: user account does not exist", "")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("login_hint", "username")
        )
        buttons = (
            "".join(
                f'<p><button name="login_hint" value="{html.escape(u["upn"])}">'
                f"{html.escape(u['name'])} &lt;{html.escape(u['upn'])}&gt;</button></p>"
                for u in candidates
            )
            or "<p>No accounts in this directory.</p>"
        )
        return _page(200, "Pick an account", f'<form method="post">{hidden}{buttons}</form>')
    code = secrets.token_urlsafe(24)
    with directory.lock:
        directory.codes[code] = Grant(
            client_id=app["client_id"],
            redirect_uri=redirect_uri,
            nonce=params.get("nonce", ""),
            user=chosen,
            scope=params.get("scope", ""),
            expires=time.time() + CODE_LIFETIME,
        )
    return _redirect(redirect_uri, {"code": code, "state": state})


def _error(status: int, error: str, code: int, description: str) -> SimResponse:
    """The token endpoint's error body (same fields as for client credentials)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return json_response(
        status,
        {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {correlation}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def _id_token(state: Any, directory: Directory, req: SimRequest, grant: Grant) -> str:
    now = int(time.time())
    user = grant.user
    host = f"https://{req.header('Host', '127.0.0.1')}"
    claims = {
        "aud": grant.client_id,
        "iss": f"{host}/{user['tid']}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "nonce": grant.nonce,
        "tid": user["tid"],
        "oid": user["oid"],
        "sub": derived_guid("sub", user["oid"], grant.client_id),
        "preferred_username": user["preferred_username"],
        "name": user["name"],
        "ver": "2.0",
    }
    optional = directory.apps.get(grant.client_id, {}).get("optional_claims", ())
    for claim in optional:
        value = user["mail"] if claim == "email" else user.get(claim)
        if value:
            claims[claim] = value
    with directory.lock:
        fault, directory.fault = directory.fault, None
    if fault == "wrong_audience":
        claims["aud"] = str(uuid.uuid4())
    elif fault == "expired":
        claims["iat"] = claims["nbf"] = now - 7200
        claims["exp"] = now - 3600
    elif fault == "wrong_nonce":
        claims["nonce"] = secrets.token_urlsafe(12)
    elif fault == "wrong_issuer":
        claims["iss"] = f"{host}/{uuid.uuid4()}/v2.0"
    token = state.signer.sign(claims)
    if fault == "bad_signature":
        head, body, signature = token.split(".")
        token = f"{head}.{body}.{signature[:-6]}AAAAAA"
    return token


def token(state: Any, directory: Directory, req: SimRequest, form: dict[str, str]) -> SimResponse:
    """The token endpoint's ``authorization_code`` and ``refresh_token`` grants."""
    app = directory.apps.get(form.get("client_id", "").lower())
    if app is None or form.get("client_secret") != app["client_secret"]:
        return _error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    with directory.lock:
        if form.get("grant_type") == "authorization_code":
            grant = directory.codes.pop(form.get("code", ""), None)
            if grant is None or grant.expires < time.time():
                return _error(400, "invalid_grant", 70008, "The provided code has expired.")
            if (
                grant.redirect_uri != form.get("redirect_uri")
                or grant.client_id != app["client_id"]
            ):
                return _error(400, "invalid_grant", 50148, "The redirect URI does not match.")
        else:
            grant = directory.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.client_id != app["client_id"]:
                return _error(400, "invalid_grant", 9002313, "Invalid refresh token.")
        refresh = secrets.token_urlsafe(32)
        directory.refresh_tokens[refresh] = grant
    now = int(time.time())
    access_claims = {
        "aud": "00000003-0000-0000-c000-000000000000",
        "iss": f"https://sts.windows.net/{grant.user['tid']}/",
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "tid": grant.user["tid"],
        "oid": grant.user["oid"],
        "scp": "openid profile email offline_access",
    }
    return json_response(
        200,
        {
            "token_type": "Bearer",
            "scope": grant.scope,
            "expires_in": ID_TOKEN_LIFETIME,
            "ext_expires_in": ID_TOKEN_LIFETIME,
            "access_token": state.signer.sign(access_claims),
            "refresh_token": refresh,
            "id_token": _id_token(state, directory, req, grant),
        },
        {"Cache-Control": "no-store"},
    )
