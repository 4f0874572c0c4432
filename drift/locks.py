"""A Redis lock per tenant so two detection passes of one tenant never overlap.

A poll and a change watch of the same tenant each queue a pass, and the drift worker's
processes would run both at once: both read the same pending resources and unresolved
findings, so the second write opens a finding the first already opened (refused by the
one-unresolved-finding-per-path constraint, failing the pass) or closes one the first
just saw. The lock serialises them; a pass that finds it held is not lost (the task
comes back later, ``manage.py detect_drift`` waits).
"""

from __future__ import annotations

import contextlib

import redis
from django.conf import settings

from configurations.locks import lock_client


class DetectionAlreadyRunning(RuntimeError):
    """Another detection pass of this tenant holds its lock."""


class TenantDetectionLock:
    """Lock of one tenant's detection passes, taken without waiting unless ``wait`` > 0.

    It expires ``DRIFT_TASK_TIME_LIMIT`` seconds (plus a margin) after it was taken: the
    hard time limit replaces a worker process whose pass ran that long, so a killed pass
    never blocks the tenant for longer than a pass may run.
    """

    def __init__(self, schema_name: str, *, wait: float = 0) -> None:
        self.name = f"driftdetector:detect-lock:{schema_name}"
        self.wait = wait
        self._lock = lock_client().lock(
            self.name,
            timeout=settings.DRIFT_TASK_TIME_LIMIT + 5,
            blocking=wait > 0,
            blocking_timeout=wait or None,
            sleep=0.05,
        )

    def __enter__(self) -> TenantDetectionLock:
        if not self._lock.acquire():
            waited = f" after waiting {self.wait:g} s" if self.wait else ""
            raise DetectionAlreadyRunning(
                f"a detection pass of this tenant is already running{waited}"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(redis.exceptions.LockError):  # expired meanwhile
            self._lock.release()
