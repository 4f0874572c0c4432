"""Encryption at rest for secrets (OAuth tokens, Azure client secrets, webhook keys).

MultiFernet over ``settings.FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key
decrypts. Rotation: put a new key first, deploy, run ``manage.py rotate_encryption_keys``
to re-encrypt stored values, then drop the old key.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(ValueError):
    """A stored secret could not be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty; secrets cannot be stored.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    """The MultiFernet for the configured keys."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt a string with the first configured key."""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a string encrypted with any configured key."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored value with the first (newest) key."""
    return fernet().rotate(token.encode()).decode()
