"""Detection pass cost that machine load does not blur: statements and Python CPU per pass.

Wall-clock figures of ``bench/drift.py`` move with whatever else runs on the machine; the
number of SQL statements a pass sends and the CPU time its Python spends do not. For N
tenants x M resources: a steady pass (nothing changed) and a pass after 10 resources of
each tenant changed (tags and publicNetworkAccess, as bench/drift.py does). The last
line printed is one JSON object.

    python bench/drift_passes.py --tenants 5 --resources 1000
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
from poll import onboard_fleet, start_simulator, tenant_specs, use_simulator

CHANGEABLE = [  # as in bench/drift.py
    "microsoft.storage/storageaccounts",
    "microsoft.network/networksecuritygroups",
    "microsoft.keyvault/vaults",
    "microsoft.compute/virtualmachines",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--port", type=int, default=18446)
    parser.add_argument("--database", default="bench_drift_passes")
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-drift-passes-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    specs = tenant_specs("passes", args.tenants, args.resources, first_id=70000)
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django_tenants.utils import tenant_context

        from azuresim.client import SimClient
        from configurations.models import Configuration
        from configurations.services import PassOptions, run_collection_pass
        from drift.services import run_detection

        call_command("migrate_schemas", verbosity=0)
        tenants = onboard_fleet(specs)

        def collect_all() -> None:
            for tenant in tenants:
                with tenant_context(tenant):
                    run_collection_pass(tenant, PassOptions(trigger="bench"))

        def passes() -> tuple[float, float]:
            statements, cpu = 0, 0.0
            for tenant in tenants:
                with tenant_context(tenant):
                    started = time.process_time()
                    with CaptureQueriesContext(connection) as captured:
                        run_detection(tenant, actor="bench")
                    cpu += time.process_time() - started
                    statements += len(captured.captured_queries)
            return statements / len(tenants), cpu / len(tenants) * 1000

        collect_all()
        passes()  # first pass: baselines
        steady = [passes() for _ in range(3)]
        client = SimClient(sim_url, state_dir / "ca.pem")
        rng = random.Random(11)
        for tenant in tenants:
            with tenant_context(tenant):
                ids = list(
                    Configuration.objects.filter(resource_type__in=CHANGEABLE).values_list(
                        "resource_id", flat=True
                    )
                )
            for rid in rng.sample(ids, min(10, len(ids))):
                client.modify_resource(
                    rid,
                    {
                        "tags": {"drift": uuid.uuid4().hex},
                        "properties": {"publicNetworkAccess": "Enabled"},
                    },
                    caller="bench@msp",
                )
        collect_all()
        changed = passes()
    finally:
        sim.terminate()
    print(
        json.dumps(
            {
                "bench": "drift_passes",
                "tenants": args.tenants,
                "steady_statements": steady[-1][0],
                "steady_cpu_ms": round(min(cpu for _, cpu in steady), 2),
                "changed_statements": changed[0],
                "changed_cpu_ms": round(changed[1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
