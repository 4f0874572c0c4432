"""Detection pass cost that machine load does not blur: statements and CPU per pass.

Wall-clock figures of ``bench/drift.py`` move with whatever else runs on the machine; the
number of SQL statements a pass sends, the CPU time its Python spends and the CPU time of
its PostgreSQL backend (read from /proc, so the server must run on this machine) do not. For N
tenants x M resources: a steady pass (nothing changed) and a pass after 10 resources of
each tenant changed (tags and publicNetworkAccess, as bench/drift.py does; the set-up is
shared in bench/_drift_setup.py). ``--profile`` prints cProfile's top entries of the last
steady pass and of the changed pass to stderr (their CPU figures then include the
profiler's overhead). The last line printed is one JSON object.

    python bench/drift_passes.py --tenants 5 --resources 1000
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _drift_setup import analyze, backend_cpu_ms, drift_bench, parse_args, profiled


def main() -> None:
    args = parse_args(__doc__, tenants=5, port=18446, database="bench_drift_passes")
    with drift_bench(args, name="passes", first_id=70000) as bench:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        totals = {"statements": 0, "cpu": 0.0, "pg_cpu": 0.0}

        def server_cpu() -> float:
            """CPU milliseconds of this connection's PostgreSQL backend so far."""
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
            return backend_cpu_ms(pid)

        @contextmanager
        def counted(_tenant: Any) -> Iterator[None]:
            started = time.process_time()
            with CaptureQueriesContext(connection) as captured:
                yield
            totals["cpu"] += time.process_time() - started
            totals["statements"] += len(captured.captured_queries)

        def passes() -> tuple[float, float, float]:
            totals.update(statements=0, cpu=0.0)
            pg_started = server_cpu()
            for _ in bench.detect_each(counted):
                pass
            count = len(bench.tenants)
            pg = (server_cpu() - pg_started) / count
            return totals["statements"] / count, totals["cpu"] / count * 1000, pg

        passes()  # first pass: baselines
        analyze()
        steady = [passes() for _ in range(2)]
        with profiled("steady pass", args.profile):
            steady.append(passes())
        bench.change_resources(10)
        bench.collect_all()
        with profiled("pass with changes", args.profile):
            changed = passes()
    print(
        json.dumps(
            {
                "bench": "drift_passes",
                "tenants": args.tenants,
                "steady_statements": steady[-1][0],
                "steady_cpu_ms": round(min(cpu for _, cpu, _ in steady), 2),
                "steady_pg_cpu_ms": round(min(pg for _, _, pg in steady), 2),
                "changed_statements": changed[0],
                "changed_cpu_ms": round(changed[1], 2),
                "changed_pg_cpu_ms": round(changed[2], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
