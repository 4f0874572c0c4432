"""A Redis lock per tenant so two collection passes (full or watch) of one tenant never overlap.

The lock's token says which kind of pass holds it (``pass`` or ``watch``), so a full pass
that finds a short watch running can come back a few seconds later instead of being lost.
"""

from __future__ import annotations

import contextlib
import os
import socket
from functools import cache

import redis
from django.conf import settings


class PassAlreadyRunning(RuntimeError):
    """Another pass of this tenant holds the lock; ``holder`` is its kind (pass, watch)."""

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def lock_client() -> redis.Redis:
    """Redis client for the locks (the cache database)."""
    return _client(settings.CACHES["default"]["LOCATION"])


class TenantPassLock:
    """Non-blocking lock with a TTL, extended after every page by the pass that holds it.

    A worker killed mid-pass leaves the lock to expire after ``ttl`` seconds; the next
    pass then takes it and marks the dead pass failed.
    """

    def __init__(self, schema_name: str, ttl: float | None = None, kind: str = "pass") -> None:
        self.ttl = ttl or settings.POLL_LOCK_TTL_SECONDS
        self.owner = f"{kind}|{socket.gethostname()}:{os.getpid()}"
        self.name = f"driftdetector:poll-lock:{schema_name}"
        self._lock = lock_client().lock(self.name, timeout=self.ttl, blocking=False)

    def __enter__(self) -> TenantPassLock:
        if not self._lock.acquire(blocking=False, token=self.owner.encode()):
            token = lock_client().get(self.name) or b""
            holder = token.decode(errors="replace").partition("|")[0] if b"|" in token else "pass"
            raise PassAlreadyRunning(
                f"a collection pass ({holder}) of this tenant is already running", holder
            )
        return self

    def extend(self) -> None:
        """Push the expiry ``ttl`` seconds into the future."""
        self._lock.extend(self.ttl, replace_ttl=True)

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(redis.exceptions.LockError):  # expired meanwhile
            self._lock.release()
