"""What a detection pass costs by what its PostgreSQL backend already knows.

Before a backend plans its first statement on a tenant's tables it loads their
descriptions and every index's into its caches; a drift worker's connection serves many
tenants and autovacuum's ANALYZE empties those caches table by table, so a pass often
pays for that. For N tenants x M resources (set-up shared with bench/drift.py) this
times each tenant's pass in three states of its backend: ``new_connection`` (a new
connection for every pass), ``first_visit`` (one connection, each tenant's tables new to
it) and ``warm`` (the same connection again). Each pass runs in a transaction rolled back
after its deferred foreign-key checks (``SET CONSTRAINTS ALL IMMEDIATE``), so every state
repeats the same work: first with nothing changed, then after 10 resources of each tenant
changed. CPU, not wall time: the backend's from /proc/<pid>/schedstat (the server must
run on this machine) and this process's, each the least of ``REPEATS`` (3) repetitions of the state
(CPU time still moves with what the other core runs). The last line printed is one JSON
object.

    python bench/drift_cache.py --tenants 20 --resources 1000
"""

from __future__ import annotations

import json
import time
from typing import Any

from _drift_setup import analyze, backend_cpu_ms, drift_bench, log, parse_args

STATES = ("new_connection", "first_visit", "warm")
REPEATS = 3


def pass_costs(tenants: list[Any], state: str) -> tuple[float, float]:
    """(backend CPU ms, this process's CPU ms) per rolled-back pass over ``tenants``, the
    backend in ``state``."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from drift.services import run_detection

    if state != "warm":
        connection.close()
    backend = python = 0.0
    for tenant in tenants:
        if state == "new_connection":
            connection.close()
        with tenant_context(tenant):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
            server, own = backend_cpu_ms(pid), time.process_time()
            with transaction.atomic():
                run_detection(tenant, actor="bench")
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                transaction.set_rollback(True)
            python += (time.process_time() - own) * 1000
            backend += backend_cpu_ms(pid) - server
    return backend / len(tenants), python / len(tenants)


def main() -> None:
    args = parse_args(__doc__, tenants=20, port=18448, database="bench_drift_cache")
    with drift_bench(args, name="cache", first_id=90000) as bench:
        bench.detect_all()  # baselines
        analyze()
        bench.detect_all()
        figures: dict[str, Any] = {"bench": "drift_cache", "tenants": args.tenants}
        for label in ("steady", "changed"):
            if label == "changed":
                bench.change_resources(10)
                bench.collect_all()
            for state in STATES:
                samples = [pass_costs(bench.tenants, state) for _ in range(REPEATS)]
                backend = min(sample[0] for sample in samples)
                python = min(sample[1] for sample in samples)
                log(f"{label} pass, {state}: PostgreSQL {backend:.2f} ms, Python {python:.2f} ms")
                figures.setdefault(f"{label}_pg_cpu_ms", {})[state] = round(backend, 2)
                figures.setdefault(f"{label}_cpu_ms", {})[state] = round(python, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
