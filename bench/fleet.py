"""Fleet benchmark: the shape of the system at 1,000 tenants on one machine.

A fresh database and the simulator in its own process (unthrottled). Then, in order:
1,000 tenants onboarded one by one as the onboarding service runs them (median of the
last 100 against the first 100); a no-op ``migrate_schemas`` over all of them; one full
collection pass of every tenant (1,000 x 1,000 resources) through a real Celery worker
and the simulator over HTTPS, with the RSS of the worker's processes sampled every
second; then a month of fleet status (open drift, 30 trend points a tenant) and the
fleet page (``/admin/fleet/``), the MSP API's fleet summary (``/api/v1/fleet/``)
and the MSP's cross-tenant findings search (``/api/v1/findings/``) requested
``--samples`` times each through the whole Django stack. The last line
printed is one JSON object.

    python bench/fleet.py --tenants 1000 --resources 1000     (about an hour on 2 cores)
    python bench/fleet.py --tenants 50 --resources 200        (a minute or two)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from _fleet import (
    RssSampler,
    cpu_seconds,
    fleet_state,
    log,
    measure,
    onboard_fleet,
    p95,
    run_phase,
    start_simulator,
    start_worker,
    tenant_specs,
    use_simulator,
)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def onboarding(specs: list[dict]) -> tuple[list, dict]:
    """Onboard every simulated tenant, timed one by one; the first and last 100 compared."""
    timings: list[float] = []
    started = time.perf_counter()
    fleet = onboard_fleet(specs, timings)
    window = max(1, min(100, len(timings) // 2))
    first, last = statistics.median(timings[:window]), statistics.median(timings[-window:])
    figures = {
        "onboard_total_s": round(time.perf_counter() - started, 1),
        "onboard_first100_median_ms": round(first * 1000, 1),
        "onboard_last100_median_ms": round(last * 1000, 1),
        "onboard_last100_vs_first100": round(last / first, 2),
    }
    log(f"onboarding: {figures}")
    return fleet, figures


def noop_migrate() -> float:
    """Seconds for ``migrate_schemas`` when every schema is already current."""
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate_schemas", verbosity=0)
    elapsed = time.perf_counter() - started
    log(f"no-op migrate_schemas over the fleet: {elapsed:.2f}s")
    return elapsed


def full_pass(fleet: list, concurrency: int, resources: int, sim) -> dict:
    """One collection pass of every tenant through a real worker, its memory sampled."""
    worker = start_worker(concurrency)
    try:
        time.sleep(3)  # the worker's pool processes start before the clock does
        before = cpu_seconds(worker), cpu_seconds(sim)
        with RssSampler(worker) as rss, RssSampler(sim) as sim_rss:
            phase = run_phase(
                "full pass",
                fleet,
                "bench-fleet",
                timeout=max(1800.0, len(fleet) * resources / 100),
            )
        worker_cpu, sim_cpu = cpu_seconds(worker) - before[0], cpu_seconds(sim) - before[1]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    memory = rss.summary()
    figures = {
        "full_pass_s": round(phase["seconds"], 1),
        "full_pass_resources": phase["seen"],
        "full_pass_resources_per_s": round(phase["rps"]),
        "worker_cpu_s": round(worker_cpu, 1),
        "simulator_cpu_s": round(sim_cpu, 1),
        "worker_peak_rss_mb": memory["peak_mb"],
        "worker_rss_first_quarter_mb": memory["first_quarter_peak_mb"],
        "worker_rss_last_quarter_mb": memory["last_quarter_peak_mb"],
        "simulator_peak_rss_mb": sim_rss.summary()["peak_mb"],
    }
    log(f"full pass: {figures}")
    return figures


def request_cost(client, url: str, samples: int = 5) -> tuple[int, float]:
    """(SQL statements, median CPU ms of this process) of one GET: figures that hold on a
    loaded machine, where wall times mostly measure the other processes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cpu = []
    for _ in range(samples):
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            client.get(url)
            cpu.append(time.process_time() - started)
    return len(queries.captured_queries), median_ms(cpu)


def fleet_views(fleet: list, samples: int) -> dict:
    """Median and p95 of the fleet page and the MSP API's fleet summary."""
    from django.test import Client

    from accounts.models import Role, User
    from tenants.selectors import public_tenant

    fleet_state(fleet)
    msp, _ = User.objects.update_or_create(
        username="bench-msp",
        defaults={
            "tenant": public_tenant(),
            "role": Role.objects.get(name="MSP Admin"),
            "is_staff": True,
            "is_superuser": True,
        },
    )
    client = Client()
    client.force_login(msp)
    page = measure(
        client, ["/admin/fleet/", "/admin/fleet/?o=name", "/admin/fleet/?o=-trend"], samples
    )
    api = measure(client, ["/api/v1/fleet/"], samples)
    search = measure(client, ["/api/v1/findings/?limit=100"], samples)
    costs = {
        name: request_cost(client, url)
        for name, url in (
            ("fleet_page", "/admin/fleet/"),
            ("fleet_api", "/api/v1/fleet/"),
            ("fleet_findings_search", "/api/v1/findings/?limit=100"),
        )
    }
    figures = {
        "fleet_page_ms": median_ms(page),
        "fleet_page_p95_ms": p95(page),
        "fleet_api_ms": median_ms(api),
        "fleet_api_p95_ms": p95(api),
        "fleet_findings_search_ms": median_ms(search),
        "fleet_findings_search_p95_ms": p95(search),
        **{f"{name}_queries": queries for name, (queries, _) in costs.items()},
        **{f"{name}_cpu_ms": cpu for name, (_, cpu) in costs.items()},
    }
    log(f"fleet views: {figures}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--port", type=int, default=18454)
    parser.add_argument("--database", default="bench_fleet")
    parser.add_argument(
        "--skip-pass", action="store_true", help="onboarding, migrate and fleet views only"
    )
    parser.add_argument(
        "--views-only",
        action="store_true",
        help="measure the fleet views on the already onboarded --database (no set-up)",
    )
    args = parser.parse_args()

    if args.views_only:
        setup_django(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{args.database}")
        from tenants.selectors import customer_tenants

        fleet = list(customer_tenants())
        print(
            json.dumps(
                {"bench": "fleet", "tenants": len(fleet), **fleet_views(fleet, args.samples)}
            )
        )
        return

    state_dir = ROOT / "var" / f"bench-fleet-azuresim-{args.port}"
    use_simulator(state_dir, args.port)
    specs = tenant_specs("fleet", args.tenants, args.resources, first_id=100_000)
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command

        call_command("migrate_schemas", verbosity=0)
        fleet, onboarded = onboarding(specs)
        migrate_s = noop_migrate()
        collected = (
            dict.fromkeys(("full_pass_resources_per_s", "worker_peak_rss_mb"))
            if args.skip_pass
            else full_pass(fleet, args.concurrency, args.resources, sim)
        )
        views = fleet_views(fleet, args.samples)
    finally:
        sim.terminate()
    # The figures first, then the detail behind them.
    result = {
        "bench": "fleet",
        "tenants": args.tenants,
        "onboard_last100_vs_first100": onboarded["onboard_last100_vs_first100"],
        "noop_migrate_s": round(migrate_s, 2),
        "full_pass_resources_per_s": collected["full_pass_resources_per_s"],
        "worker_peak_rss_mb": collected["worker_peak_rss_mb"],
        "fleet_page_ms": views["fleet_page_ms"],
        "fleet_api_ms": views["fleet_api_ms"],
        "resources_per_tenant": args.resources,
        **onboarded,
        **collected,
        **views,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
