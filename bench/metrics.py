"""Metrics benchmark: the cost of a /metrics scrape, and of metrics on the collection path.

1. Scrape: 200 tenants in the fleet status table (rows written directly: the scrape reads
   only that public table, never a tenant schema), the multiprocess directory on as in
   production (the web's own; each worker container has its own), ``GET /metrics``
   through Django repeated; the median time and the number of series (sample lines).
2. Poll overhead: bench/poll.py's machinery (simulator process, onboarded fleet, a real
   Celery worker on the poll queue) runs steady passes of the same fleet with metrics on
   (PROMETHEUS_MULTIPROC_DIR, METRICS_ENABLED=true) and off (METRICS_ENABLED=false: no
   business series, no django-prometheus database wrapper), alternating, one warm-up
   phase per worker; ``poll_overhead_pct`` is (on - off) / off of the worker's CPU
   seconds over the measured phases (``poll_overhead_wall_pct`` the same of wall time,
   noisier on a shared machine).

    python bench/metrics.py --tenants 10 --resources 1000 --rounds 2

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import poll
from _db import ROOT, fresh_database, setup_django

SCRAPE_TENANTS = 200


def status_table(count: int) -> None:
    """Bring the fleet status table to ``count`` tenants (status rows, newest settings)."""
    from django.utils import timezone

    from tenants.models import Settings, Tenant, TenantStatus

    missing = count - Tenant.objects.count()
    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        Tenant(
            schema_name=f"scrape_{i:04d}",
            name=f"scrape-{i:04d}",
            slug=f"scrape-{i:04d}",
            azure_tenant_id=str(uuid.UUID(int=50_000 + i)),
        )
        for i in range(missing)
    )
    Settings.objects.bulk_create(
        Settings(tenant=t, polling_settings={"interval_minutes": 15}) for t in tenants
    )
    TenantStatus.objects.bulk_create(
        TenantStatus(
            tenant=t,
            last_poll_at=now,
            last_poll_status="succeeded",
            last_successful_poll_at=now,
            open_findings={"low": 3, "medium": 2, "high": 1, "critical": i % 2},
        )
        for i, t in enumerate(tenants)
    )
    for tenant in Tenant.objects.exclude(pk__in=TenantStatus.objects.values("tenant_id")):
        TenantStatus.objects.create(tenant=tenant)


def measure_scrape(repeats: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of ``GET /metrics``, and the series it returned.

    The CPU time (this process's, the database's and Redis's work excluded) shows what a
    loaded machine adds to the wall time.
    """
    from django.test import Client

    client = Client()
    assert client.get("/metrics").status_code == 200  # warm: imports, connections
    wall, cpu = [], []
    body = b""
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get("/metrics")
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        body = response.content
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    return statistics.median(wall), statistics.median(cpu), series


def overhead(fleet: list, args: argparse.Namespace, metrics_dir: Path) -> dict[str, float]:
    """Steady passes of ``fleet`` with metrics on and off, alternating.

    Returns the summed wall seconds and the worker's CPU seconds (its processes' user +
    system time, less sensitive to other load on the machine) of the measured phases.
    """
    totals = {"on_s": 0.0, "off_s": 0.0, "on_cpu_s": 0.0, "off_cpu_s": 0.0}
    for round_ in range(args.rounds):
        for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
            env = {"METRICS_ENABLED": "true" if mode == "on" else "false"}
            if mode == "on":
                env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            worker = poll.start_worker(args.concurrency, env)
            try:
                poll.run_phase(f"warm-up ({mode})", fleet, f"warm-{mode}-{round_}")
                cpu = poll.cpu_seconds(worker)
                for phase in range(args.phases):
                    trigger = f"bench-{mode}-{round_}-{phase}"
                    totals[f"{mode}_s"] += poll.run_phase(f"metrics {mode}", fleet, trigger)[
                        "seconds"
                    ]
                totals[f"{mode}_cpu_s"] += poll.cpu_seconds(worker) - cpu
            finally:
                worker.terminate()
                worker.wait(timeout=60)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--phases", type=int, default=3, help="measured passes per worker")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument(
        "--scrape-only", action="store_true", help="skip the poll comparison (seconds, not minutes)"
    )
    parser.add_argument("--port", type=int, default=18448)
    parser.add_argument("--database", default="bench_metrics")
    args = parser.parse_args()

    # Production's shape (docker-compose): this process is the web, with its own
    # multiprocess directory; the workers write theirs (set before prometheus_client is
    # imported here).
    base = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    metrics_dir, web_dir = base / "worker", base / "web"
    metrics_dir.mkdir()
    web_dir.mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(web_dir)
    os.environ.setdefault("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8")  # the test client's
    state_dir = ROOT / "var" / "bench-metrics-azuresim"
    poll.use_simulator(state_dir, args.port)
    specs = poll.tenant_specs("bench", args.tenants, args.resources, first_id=1)
    sim = poll.start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command

        call_command("migrate_schemas", verbosity=0)
        fleet = poll.onboard_fleet(specs)
        poll.log(f"{len(fleet)} tenants onboarded")
        totals = None
        if not args.scrape_only:
            worker = poll.start_worker(args.concurrency)
            try:
                poll.run_phase("first pass", fleet, "bench-first")
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            totals = overhead(fleet, args, metrics_dir)

        status_table(SCRAPE_TENANTS)
        scrape_ms, scrape_cpu_ms, series = measure_scrape(args.scrapes)
        poll.log(
            f"scrape of {SCRAPE_TENANTS} tenants: {scrape_ms:.1f} ms median "
            f"({scrape_cpu_ms:.1f} ms CPU), {series} series"
        )
    finally:
        sim.terminate()

    cpu_pct = wall_pct = None
    if totals is not None:
        cpu_pct = round((totals["on_cpu_s"] - totals["off_cpu_s"]) / totals["off_cpu_s"] * 100, 1)
        wall_pct = round((totals["on_s"] - totals["off_s"]) / totals["off_s"] * 100, 1)
        poll.log(f"steady passes: {json.dumps({k: round(v, 2) for k, v in totals.items()})}")
    print(
        json.dumps(
            {
                "bench": "metrics",
                "scrape_ms_200_tenants": round(scrape_ms, 1),
                "scrape_cpu_ms_200_tenants": round(scrape_cpu_ms, 1),
                "series": series,
                "poll_overhead_pct": cpu_pct,
                "poll_overhead_wall_pct": wall_pct,
                "tenants_polled": args.tenants,
                "resources": args.resources,
                "measured_passes_per_mode": args.rounds * args.phases,
            }
        )
    )


if __name__ == "__main__":
    main()
