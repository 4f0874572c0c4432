"""Onboarding benchmark: 200 tenants into a fresh database, clone vs migrate, no-op migrate.

Run with ``make bench`` (or ``python bench/onboarding.py --tenants 200`` with
DATABASE_URL / REDIS_URL set). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import fresh_database, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--migrate-samples", type=int, default=5)
    parser.add_argument("--database", default="bench_onboarding")
    args = parser.parse_args()

    setup_django(fresh_database(args.database))
    from django.core.management import call_command
    from django.db import connection

    from tenants import schemas, services

    started = time.perf_counter()
    call_command("migrate_schemas", verbosity=0)
    print(f"fresh database migrated in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    def onboard(index: int, prefix: str) -> float:
        """One onboarding as one request would do it: fresh connection, service call, close."""
        t0 = time.perf_counter()
        services.onboard_tenant(
            name=f"Bench {prefix} {index}",
            slug=f"{prefix}-{index:04d}",
            azure_tenant_id=str(uuid.uuid4()),
            actor="bench",
        )
        connection.close()
        return time.perf_counter() - t0

    clone_times = [onboard(i, "clone") for i in range(args.tenants)]

    def migrate_into(schema_name: str) -> None:
        """The slow path the clone replaces: create the schema and run every migration."""
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(schema_name)}")
        call_command("migrate_schemas", schema_name=schema_name, tenant=True, verbosity=0)
        connection.set_schema_to_public()

    clone = schemas.clone_template_into
    schemas.clone_template_into = migrate_into
    try:
        migrate_times = [onboard(i, "migrated") for i in range(args.migrate_samples)]
    finally:
        schemas.clone_template_into = clone

    t0 = time.perf_counter()
    call_command("migrate_schemas", verbosity=0)
    noop_all = time.perf_counter() - t0

    result = {
        "bench": "onboarding",
        "tenants": args.tenants,
        "median_s": round(statistics.median(clone_times), 4),
        "first10_median_s": round(statistics.median(clone_times[:10]), 4),
        "last10_median_s": round(statistics.median(clone_times[-10:]), 4),
        "migrate_median_s": round(statistics.median(migrate_times), 4),
        "noop_migrate_all_s": round(noop_all, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
