"""Drift benchmark: N tenants x M resources with a baseline, then 1 % of resources changed.

Collection runs in-process through the real path (SDK + simulator + PostgreSQL); the
figures are about detection: ``drift_rps`` is changed resources processed per second by
detection passes, ``steady_pass_s`` a detection pass over every tenant when nothing
changed. It also measures, for one tenant, the pieces of the change-to-finding latency
(poll pass + detection pass) to add to the polling interval. ``rules`` is the size of
the shipped rule pack every pass evaluates. The last line printed is one JSON object.

    python bench/drift.py --tenants 100 --resources 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from poll import log, onboard_fleet, start_simulator, tenant_specs, use_simulator

CHANGEABLE = [
    "microsoft.storage/storageaccounts",
    "microsoft.network/networksecuritygroups",
    "microsoft.keyvault/vaults",
    "microsoft.compute/virtualmachines",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--port", type=int, default=18444)
    parser.add_argument("--database", default="bench_drift")
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-drift-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    specs = tenant_specs("drift", args.tenants, args.resources, first_id=50000)
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command
        from django_tenants.utils import tenant_context

        from azuresim.client import SimClient
        from configurations.models import Configuration
        from configurations.services import PassOptions, run_collection_pass
        from drift.services import run_detection
        from drift.severity import build_rule_set

        rule_count = len(build_rule_set({}).rules)  # the shipped pack every tenant runs

        call_command("migrate_schemas", verbosity=0)
        tenants = onboard_fleet(specs)

        def collect_all() -> None:
            for tenant in tenants:
                with tenant_context(tenant):
                    run_collection_pass(tenant, PassOptions(trigger="bench"))

        def detect_all() -> tuple[float, int, int]:
            started = time.perf_counter()
            drifted = findings = 0
            for tenant in tenants:
                with tenant_context(tenant):
                    report = run_detection(tenant, actor="bench")
                drifted += report.resources_drifted
                findings += report.opened
            return time.perf_counter() - started, drifted, findings

        collect_all()
        baseline_s, _, _ = detect_all()  # first detection: baselines from the present state
        log(f"baselines for {len(tenants)} tenants in {baseline_s:.1f}s")
        steady_s, _, _ = detect_all()
        log(f"steady detection over all tenants: {steady_s:.2f}s")

        client = SimClient(sim_url, state_dir / "ca.pem")
        rng = random.Random(11)
        changed = 0
        for tenant in tenants:
            with tenant_context(tenant):
                ids = list(
                    Configuration.objects.filter(resource_type__in=CHANGEABLE).values_list(
                        "resource_id", flat=True
                    )
                )
            for rid in rng.sample(ids, min(len(ids), max(1, args.resources // 100))):
                client.modify_resource(
                    rid,
                    {
                        "tags": {"drift": uuid.uuid4().hex},
                        "properties": {"publicNetworkAccess": "Enabled"},
                    },
                    caller="bench@msp",
                )
                changed += 1
        collect_all()
        drift_s, drifted, findings = detect_all()
        log(f"{drifted} drifted ({changed} changed) in {drift_s:.2f}s, {findings} findings")

        probe = tenants[0]
        with tenant_context(probe):
            rid = (
                Configuration.objects.filter(resource_type=CHANGEABLE[1])
                .values_list("resource_id", flat=True)
                .first()
            )
        client.modify_resource(rid, {"tags": {"latency": "probe"}}, caller="bench@msp")
        t0 = time.perf_counter()
        with tenant_context(probe):
            run_collection_pass(probe, PassOptions(trigger="latency"))
        poll_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with tenant_context(probe):
            run_detection(probe, actor="bench")
        detect_s = time.perf_counter() - t1
    finally:
        sim.terminate()

    print(
        json.dumps(
            {
                "bench": "drift",
                "resources": args.tenants * args.resources,
                "changed": drifted,
                "drift_rps": round(drifted / drift_s),
                "findings": findings,
                "steady_pass_s": round(steady_s, 2),
                "steady_pass_per_tenant_s": round(steady_s / len(tenants), 4),
                "latency_poll_s": round(poll_s, 3),
                "latency_detect_s": round(detect_s, 3),
                "rules": rule_count,
            }
        )
    )


if __name__ == "__main__":
    main()
