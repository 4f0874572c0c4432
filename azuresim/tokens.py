"""RS256 JSON Web Tokens signed by the simulator's key, and the matching JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _self_signed(key: rsa.RSAPrivateKey) -> bytes:
    """A DER certificate for the signing key, as Entra publishes in ``x5c``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.azuresim.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


class TokenError(Exception):
    """The bearer token is malformed, badly signed or expired."""


class TokenSigner:
    """Issues and verifies RS256 JWTs; one RSA key per simulator process."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self.kid = b64url(hashlib.sha256(_int_b64(numbers.n).encode()).digest()[:15])
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
            "x5c": [base64.b64encode(_self_signed(self._key)).decode("ascii")],
        }
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def jwks(self, issuer: str | None = None) -> dict[str, Any]:
        """The key set as served at ``/{tenant}/discovery/v2.0/keys``.

        Like Entra's, each key carries its certificate chain (``x5c``) and, when given,
        the issuer it signs for (``https://host/{tenantid}/v2.0``, a template).
        """
        key = dict(self._jwk)
        if issuer:
            key["issuer"] = issuer
        return {"keys": [key]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Return a compact JWS of ``claims``."""
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def verify(self, token: str) -> dict[str, Any]:
        """Check signature and expiry; return the claims. Raises :class:`TokenError`."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            with self._lock:
                if len(self._verified) > 10_000:
                    self._verified.clear()
                self._verified[token] = claims
        if float(claims.get("exp", 0)) < time.time():
            raise TokenError("The token is expired.")
        return claims

    def _verify_signature(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("The access token is not a JWT.")
        try:
            signature = b64url_decode(parts[2])
            self._key.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(b64url_decode(parts[1]))
        except (InvalidSignature, ValueError) as exc:
            raise TokenError("The access token has an invalid signature.") from exc
        if not isinstance(claims, dict):
            raise TokenError("The access token has no claims.")
        return claims
