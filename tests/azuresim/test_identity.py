"""Identity platform endpoints driven by the real azure-identity credentials."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core import PipelineClient
from azure.core.exceptions import ClientAuthenticationError
from azure.core.rest import HttpRequest
from azure.identity import CertificateCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from azuresim.tokens import b64url_decode
from tests.azuresim.helpers import credential, raw_get


def _claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def test_client_secret_credential_gets_signed_token(sim, make_tenant):
    tenant = make_tenant()
    token = credential(sim, tenant).get_token(sim.base_url + "/.default").token
    claims = _claims(token)
    assert claims["tid"] == tenant["tenant_id"]
    assert claims["appid"] == tenant["client_id"]
    assert claims["aud"] == sim.base_url
    assert claims["iss"] == f"https://sts.windows.net/{tenant['tenant_id']}/"
    assert claims["oid"] and claims["exp"] > claims["iat"]

    header = json.loads(b64url_decode(token.split(".")[0]))
    keys = raw_get(sim, f"/{tenant['tenant_id']}/discovery/v2.0/keys").json()["keys"]
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(jwk["e"]), "big"),
        int.from_bytes(b64url_decode(jwk["n"]), "big"),
    ).public_key()
    head, body, sig = token.split(".")
    public.verify(
        b64url_decode(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_wrong_secret_is_rejected_with_aadsts7000215(sim, make_tenant):
    tenant = make_tenant()
    with pytest.raises(ClientAuthenticationError) as info:
        credential(sim, tenant, secret="not-the-secret").get_token(sim.base_url + "/.default")
    assert "AADSTS7000215" in str(info.value)

    client = PipelineClient(base_url=sim.base_url, policies=[], connection_verify=str(sim.ca_path))
    form = {
        "grant_type": "client_credentials",
        "client_id": tenant["client_id"],
        "client_secret": "wrong",
        "scope": sim.base_url + "/.default",
    }
    url = f"{sim.base_url}/{tenant['tenant_id']}/oauth2/v2.0/token"
    response = client.send_request(HttpRequest("POST", url, data=form))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")


def test_unknown_tenant_metadata_is_aadsts90002(sim):
    response = raw_get(
        sim, "/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_tenant" and body["error_codes"] == [90002]
    assert body["error_description"].startswith(
        "AADSTS90002: Tenant '00000000-0000-0000-0000-000000000001' not found."
    )


def test_unknown_tenant_token_request_and_authorize_page_are_aadsts90002(sim):
    tenant = "00000000-0000-0000-0000-000000000002"
    token = requests.post(
        f"{sim.base_url}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        verify=str(sim.ca_path),
        timeout=10,
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_tenant"
    page = raw_get(sim, f"/{tenant}/oauth2/v2.0/authorize?client_id=x")
    assert page.status_code == 400 and "AADSTS90002" in page.text()


def test_jwks_keys_carry_a_certificate_chain_and_a_per_key_issuer(sim, make_tenant):
    tenant = make_tenant()
    (key,) = raw_get(sim, f"/{tenant['tenant_id']}/discovery/v2.0/keys").json()["keys"]
    assert key["issuer"] == f"{sim.base_url}/{{tenantid}}/v2.0"
    cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    numbers = cert.public_key().public_numbers()
    assert b64url_decode(key["n"]) == numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    assert key["kid"] and key["kty"] == "RSA" and key["use"] == "sig"


def _sign_in(sim, sim_client, optional_claims, **user):
    client_id, secret = str(uuid.uuid4()), "s3cret"
    callback = "https://rp.example/callback"
    sim_client.register_app(client_id, secret, [callback], optional_claims=optional_claims)
    added = sim_client.add_user(**user)
    answer = requests.get(
        f"{sim.base_url}/organizations/oauth2/v2.0/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "openid profile email",
            "nonce": "n1",
            "login_hint": user["upn"],
        },
        verify=str(sim.ca_path),
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        f"{sim.base_url}/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": secret,
            "code": code,
            "redirect_uri": callback,
        },
        verify=str(sim.ca_path),
        timeout=10,
    ).json()
    return added, _claims(tokens["id_token"])


def test_id_token_has_email_and_names_only_as_configured_optional_claims(sim, sim_client):
    tid = str(uuid.uuid4())
    user = {"tenant_id": tid, "upn": "pat@contoso.example", "given_name": "Pat", "family_name": "K"}
    added, bare = _sign_in(sim, sim_client, [], mail="patricia@contoso.example", **user)
    assert bare["preferred_username"] == "pat@contoso.example" and bare["oid"] == added["oid"]
    assert bare["tid"] == tid and bare["name"] == "Pat K"
    assert not {"email", "given_name", "family_name"} & set(bare)

    _, full = _sign_in(
        sim,
        sim_client,
        ["email", "given_name", "family_name"],
        mail="patricia@contoso.example",
        **user,
    )
    assert full["email"] == "patricia@contoso.example" != full["preferred_username"]
    assert (full["given_name"], full["family_name"]) == ("Pat", "K")

    _, no_mailbox = _sign_in(sim, sim_client, ["email"], mail="", **user)
    assert "email" not in no_mailbox


def test_openid_configuration_shape(sim, make_tenant):
    tenant = make_tenant()
    doc = raw_get(sim, f"/{tenant['tenant_id']}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{sim.base_url}/{tenant['tenant_id']}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{sim.base_url}/{tenant['tenant_id']}/v2.0"
    assert doc["jwks_uri"].endswith("/discovery/v2.0/keys")
    assert "authorization_endpoint" in doc


def _certificate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drift-detector")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem.decode() + cert.public_bytes(serialization.Encoding.PEM).decode()


def test_certificate_credential_client_assertion(sim, make_tenant):
    pem = _certificate_pem()
    cert_only = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    tenant = make_tenant(certificate_pem=cert_only)
    cred = CertificateCredential(
        tenant["tenant_id"],
        tenant["client_id"],
        certificate_data=pem.encode(),
        authority=sim.base_url,
        disable_instance_discovery=True,
        connection_verify=str(sim.ca_path),
    )
    assert _claims(cred.get_token(sim.base_url + "/.default").token)["appidacr"] == "2"

    unrelated = _certificate_pem()
    other = make_tenant(certificate_pem=unrelated[unrelated.index("-----BEGIN CERTIFICATE-----") :])
    with pytest.raises(ClientAuthenticationError):
        CertificateCredential(
            other["tenant_id"],
            other["client_id"],
            certificate_data=pem.encode(),
            authority=sim.base_url,
            disable_instance_discovery=True,
            connection_verify=str(sim.ca_path),
        ).get_token(sim.base_url + "/.default")
