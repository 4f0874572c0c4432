"""Microsoft identity platform (v2.0 endpoints): OIDC metadata, JWKS and the token endpoint.

Client credentials (secret or certificate) serve the SDKs; the browser sign-in flow
(authorize, authorization-code and refresh-token grants) lives in :mod:`azuresim.signin`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import faults, signin
from .state import SimState
from .tenants import derived_guid
from .tokens import b64url_decode
from .wire import SimRequest, SimResponse, json_response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MULTI_TENANT = ("common", "organizations", "consumers")


def base_url(req: SimRequest) -> str:
    """``https://host:port`` as the client addressed us."""
    return f"https://{req.header('Host', '127.0.0.1')}"


def aad_error(req: SimRequest, status: int, error: str, code: int, description: str) -> SimResponse:
    """Microsoft identity platform error JSON (``error``, ``error_description`` with AADSTS)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    text = (
        f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
        f"\r\nTimestamp: {stamp}"
    )
    body = {
        "error": error,
        "error_description": text,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"{base_url(req)}/error?code={code}",
    }
    return json_response(status, body)


def _unknown_tenant(req: SimRequest, tenant: str) -> SimResponse:
    """Entra's answer for a tenant it does not know (OIDC metadata and token endpoint)."""
    return aad_error(
        req,
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, "
        "this may happen if there are no active subscriptions for the tenant.",
    )


def _known(state: SimState, tenant: str) -> bool:
    tenant = tenant.lower()
    return (
        tenant in MULTI_TENANT
        or state.estate(tenant) is not None
        or tenant in state.directory.users
    )


def openid_configuration(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``GET /{tenant}/v2.0/.well-known/openid-configuration``."""
    tenant = tenant.lower()
    if not _known(state, tenant):
        return _unknown_tenant(req, tenant)
    base = base_url(req)
    issuer_tenant = "{tenantid}" if tenant in MULTI_TENANT else tenant
    body = {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return json_response(200, body)


def jwks(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``GET /{tenant}/discovery/v2.0/keys`` (keys with ``x5c`` and a per-key issuer)."""
    if not _known(state, tenant):
        return _unknown_tenant(req, tenant)
    return json_response(200, state.signer.jwks(f"{base_url(req)}/{{tenantid}}/v2.0"))


def authorize(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``GET|POST /{tenant}/oauth2/v2.0/authorize``: the browser sign-in flow."""
    return signin.authorize(state.directory, req, tenant, _known(state, tenant))


def _verify_assertion(cert_pem: str, assertion: str, client_id: str) -> bool:
    """Check a certificate credential's client assertion (RS256 or PS256)."""
    try:
        header_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        pad: Any = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            if header.get("alg") == "PS256"
            else padding.PKCS1v15()
        )
        key.verify(
            b64url_decode(sig_b64), f"{header_b64}.{claims_b64}".encode(), pad, hashes.SHA256()
        )
    except (ValueError, InvalidSignature):
        return False
    return claims.get("sub") == client_id and float(claims.get("exp", 0)) > time.time()


def token(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``POST /{tenant}/oauth2/v2.0/token`` (client credentials with secret or assertion)."""
    tenant = tenant.lower()
    form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("grant_type") in ("authorization_code", "refresh_token"):
        if not _known(state, tenant):
            return _unknown_tenant(req, tenant)
        return signin.token(state, state.directory, req, form)
    estate = state.estate(tenant)
    if estate is None:
        return _unknown_tenant(req, tenant)
    faulted = faults.apply(state.faults, req, tenant)
    if faulted is not None:
        return faulted
    if form.get("grant_type") != "client_credentials":
        return aad_error(
            req,
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        )
    spec = estate.spec
    client_id = form.get("client_id", "").lower()
    if client_id != spec.client_id:
        return aad_error(
            req,
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
    if form.get("client_assertion_type") == ASSERTION_TYPE:
        cert = spec.certificate_pem
        if not cert or not _verify_assertion(cert, form.get("client_assertion", ""), client_id):
            return aad_error(
                req,
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation.",
            )
    elif form.get("client_secret") != spec.client_secret:
        return aad_error(
            req,
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            f"the client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'.",
        )
    scope = form.get("scope", "").split()
    resource = next((s[: -len("/.default")] for s in scope if s.endswith("/.default")), None)
    if resource is None:
        return aad_error(
            req,
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {' '.join(scope) or '(none)'} is not valid. "
            "Client credential flows must have a scope value with /.default suffixed to the "
            "resource identifier (application ID URI).",
        )
    now = int(time.time())
    lifetime = state.options.token_lifetime
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "aio": str(uuid.uuid4()),
        "appid": client_id,
        "appidacr": "2" if form.get("client_assertion") else "1",
        "idp": f"https://sts.windows.net/{tenant}/",
        "idtyp": "app",
        "oid": derived_guid("sp", tenant, client_id),
        "sub": derived_guid("sp", tenant, client_id),
        "tid": tenant,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    body = {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.signer.sign(claims),
    }
    return json_response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
