"""Collection benchmark: N simulated tenants x M resources through the real worker path.

A fresh database, the simulator in its own process (unthrottled), the tenants onboarded
with one app registration, and a real Celery worker (--concurrency processes) running the
``poll_tenant`` task for every tenant: first pass, steady pass (nothing changed), a pass
with 1 % of resources changed, and the steady pass again with the hash short-circuit
off (deepdiff on every resource). Peak RSS of one pass of a 10k and a 50k tenant is
measured in fresh processes. The last line printed is one JSON object.

    python bench/poll.py --tenants 100 --resources 1000     (make bench-poll)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from _fleet import (
    CLIENT_ID,
    SECRET,
    cpu_seconds,
    log,
    onboard_fleet,
    run_phase,
    start_simulator,
    start_worker,
    tenant_specs,
    use_simulator,
    worker_env,
)


def rss_probe(slug: str) -> None:
    """Child mode: one pass of one tenant in this fresh process; print its peak RSS in MB."""
    from django_tenants.utils import tenant_context

    from configurations.services import PassOptions, run_collection_pass
    from tenants.models import Tenant

    tenant = Tenant.objects.select_related("azure_credential").get(slug=slug)
    with tenant_context(tenant):
        run = run_collection_pass(tenant, PassOptions(trigger="rss-probe"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"slug": slug, "status": run.status, "seen": run.seen, "peak_rss_mb": peak_mb})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--rss-sizes", default="10000,50000")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument(
        "--concurrency", type=int, default=4, help="Celery worker processes (passes wait on I/O)"
    )
    parser.add_argument("--database", default="bench_poll")
    parser.add_argument("--rss-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    if args.rss_probe:
        setup_django(os.environ["DATABASE_URL"])
        rss_probe(args.rss_probe)
        return

    rss_sizes = [int(n) for n in args.rss_sizes.split(",") if n]
    specs = tenant_specs("bench", args.tenants, args.resources, first_id=1) + [
        {
            "name": f"rss-{n}",
            "tenant_id": str(uuid.UUID(int=10_000 + n)),
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "subscriptions": 4,
            "resources": n,
            "seed": n,
        }
        for n in rss_sizes
    ]
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    worker = None
    try:
        database_url = fresh_database(args.database)
        setup_django(database_url)
        from django.core.management import call_command

        from azuresim.client import SimClient

        call_command("migrate_schemas", verbosity=0)
        onboard_fleet(specs)
        from tenants.models import Tenant

        fleet = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))
        log(f"{len(fleet)} tenants onboarded; simulator at {sim_url}")

        worker = start_worker(args.concurrency)
        first = run_phase("first pass", fleet, "bench-first")
        sim_cpu, worker_cpu = cpu_seconds(sim), cpu_seconds(worker)
        steady = run_phase("steady pass", fleet, "bench-steady")
        steady["sim_cpu_s"] = round(cpu_seconds(sim) - sim_cpu, 1)
        steady["worker_cpu_s"] = round(cpu_seconds(worker) - worker_cpu, 1)
        log(f"steady pass CPU: simulator {steady['sim_cpu_s']}s, worker {steady['worker_cpu_s']}s")

        client = SimClient(sim_url, state_dir / "ca.pem")
        rng = random.Random(7)
        from django_tenants.utils import tenant_context

        from configurations.models import Configuration

        changed = 0
        for tenant in fleet:
            with tenant_context(tenant):
                ids = list(
                    Configuration.objects.filter(
                        resource_type__in=[
                            "microsoft.storage/storageaccounts",
                            "microsoft.network/networksecuritygroups",
                            "microsoft.compute/virtualmachines",
                            "microsoft.network/virtualnetworks",
                            "microsoft.keyvault/vaults",
                            "microsoft.compute/disks",
                        ]
                    ).values_list("resource_id", flat=True)
                )
            for rid in rng.sample(ids, min(len(ids), max(1, args.resources // 100))):
                client.modify_resource(
                    rid, {"tags": {"bench-change": str(uuid.uuid4())}}, caller="bench@msp"
                )
                changed += 1
        one_pct = run_phase(f"1% changed ({changed} resources)", fleet, "bench-one-pct")
        worker.terminate()
        worker.wait(timeout=60)

        worker = start_worker(args.concurrency, {"COLLECTION_HASH_SHORT_CIRCUIT": "false"})
        naive = run_phase("naive steady pass (deepdiff every resource)", fleet, "bench-naive")
        worker.terminate()
        worker.wait(timeout=60)
        worker = None

        rss = []
        for n in rss_sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--rss-probe", f"rss-{n}", "--port", str(args.port)],
                cwd=ROOT,
                env=worker_env({"DATABASE_URL": database_url}),
                capture_output=True,
                text=True,
                check=True,
            )
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            log(f"rss probe {n}: {probe}")
            rss.append(round(probe["peak_rss_mb"], 1))
    finally:
        if worker is not None:
            worker.terminate()
        sim.terminate()

    result = {
        "bench": "poll",
        "tenants": args.tenants,
        "resources": args.resources,
        "first_pass_rps": round(first["rps"]),
        "steady_rps": round(steady["rps"]),
        "one_pct_changed_rps": round(one_pct["rps"]),
        "naive_steady_rps": round(naive["rps"]),
        "steady_speedup": round(steady["rps"] / naive["rps"], 1),
        "peak_rss_mb": max(rss) if rss else None,
        "rss_mb_at_10k_vs_50k": rss,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
