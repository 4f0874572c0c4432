"""Check that PostgreSQL, Redis and the broker answer before anything else starts.

Exits 1 with one clear line per unreachable service (instead of a traceback from the
first query), so ``make run`` stops early and says why.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from driftdetector.health import run_checks


class Command(BaseCommand):
    help = "Check database, Redis and broker connectivity; exit 1 naming what is down."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        results = run_checks()
        failing = {name: result for name, result in results.items() if result != "ok"}
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
        if failing:
            self.stderr.write(
                f"preflight failed: {', '.join(failing)} unreachable; "
                "check DATABASE_URL / REDIS_URL."
            )
            sys.exit(1)
