"""Set-up shared by the detection benchmarks (bench/drift.py, bench/drift_passes.py).

A simulator with N tenants x M resources, a fresh database, the tenants onboarded and
collected through the real path (SDK + simulator + PostgreSQL), and the change both
benchmarks make: tags and ``publicNetworkAccess`` on a sample of each tenant's
resources of :data:`CHANGEABLE` types.

``python bench/drift.py`` puts ``bench/`` first on ``sys.path``, where ``drift.py``
would shadow the ``drift`` app; importing this module puts the project root first, so
``import drift`` always finds the app (checked below).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import multiprocessing
import pstats
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _db import ROOT, fresh_database, setup_django  # noqa: E402
from poll import log, onboard_fleet, start_simulator, tenant_specs, use_simulator  # noqa: E402

sys.path.insert(0, str(ROOT))
_app = importlib.util.find_spec("drift")
assert _app is not None and Path(_app.origin or "").parent == ROOT / "drift", _app

CHANGEABLE = [
    "microsoft.storage/storageaccounts",
    "microsoft.network/networksecuritygroups",
    "microsoft.keyvault/vaults",
    "microsoft.compute/virtualmachines",
]

__all__ = [
    "CHANGEABLE",
    "DriftBench",
    "analyze",
    "backend_cpu_ms",
    "drift_bench",
    "log",
    "parse_args",
    "profiled",
]


@dataclass
class DriftBench:
    """The onboarded tenants, a simulator client, and the passes the benchmarks time."""

    tenants: list[Any]
    client: Any
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    _pool: Any = None
    _pool_size: int = 0

    def collect_all(self) -> None:
        """One collection pass per tenant (the real path, in this process)."""
        from django_tenants.utils import tenant_context

        from configurations.services import PassOptions, run_collection_pass

        for tenant in self.tenants:
            with tenant_context(tenant):
                run_collection_pass(tenant, PassOptions(trigger="bench"))

    def detect_each(self, around: Callable[[Any], Any] | None = None) -> Iterator[Any]:
        """Run one detection pass per tenant, yielding each report; ``around(tenant)``
        (a context manager factory) wraps each pass, e.g. to count its statements."""
        from contextlib import nullcontext

        from django_tenants.utils import tenant_context

        from drift.services import run_exclusive_detection

        for tenant in self.tenants:
            with tenant_context(tenant), around(tenant) if around else nullcontext():
                report = run_exclusive_detection(tenant, actor="bench")
            yield report

    def detect_all(self, processes: int = 1) -> tuple[float, int, int]:
        """(seconds, resources drifted, findings opened) of one pass over every tenant;
        with ``processes`` > 1 the passes are tasks for that many forked processes, as
        the drift worker's processes share its queue."""
        if processes > 1:
            return self._detect_forked(processes)
        started = time.perf_counter()
        drifted = findings = 0
        for report in self.detect_each():
            drifted += report.resources_drifted
            findings += report.opened
        return time.perf_counter() - started, drifted, findings

    def _detect_forked(self, processes: int) -> tuple[float, int, int]:
        """One pass per tenant as tasks for a pool of ``processes`` forked processes,
        each taking the next tenant when it is free (as the drift worker's processes take
        tasks from its queue). The pool lives as long as the benchmark, so its processes
        keep their connections (warm, as a long-running worker's) from pass to pass."""
        from django.db import connections

        if self._pool is None or self._pool_size != processes:
            if self._pool is not None:
                self._pool.close()
            connections.close_all()  # forked processes open their own connections
            self._pool = multiprocessing.get_context("fork").Pool(processes)
            self._pool_size = processes
        started = time.perf_counter()
        results = self._pool.map(_detect_one, [t.pk for t in self.tenants], chunksize=1)
        elapsed = time.perf_counter() - started
        return elapsed, sum(r[0] for r in results), sum(r[1] for r in results)

    def close(self) -> None:
        """Stop the pool of detection processes, if one was started."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def accept_all(self) -> int:
        """Accept every unresolved finding into its tenant's baseline (what an operator
        does after a reviewed change); returns how many findings."""
        from django_tenants.utils import tenant_context

        from drift.models import DriftFinding
        from drift.services import UNRESOLVED, accept_into_baseline

        accepted = 0
        for tenant in self.tenants:
            with tenant_context(tenant):
                ids = list(
                    DriftFinding.objects.filter(status__in=UNRESOLVED).values_list("pk", flat=True)
                )
                if ids:
                    accept_into_baseline(ids, actor="bench")
                accepted += len(ids)
        return accepted

    def change_resources(self, per_tenant: int) -> int:
        """Change ``per_tenant`` resources of each tenant in the simulator (tags and
        publicNetworkAccess, by another caller); returns how many changed."""
        from django_tenants.utils import tenant_context

        from configurations.models import Configuration

        changed = 0
        for tenant in self.tenants:
            with tenant_context(tenant):
                ids = list(
                    Configuration.objects.filter(resource_type__in=CHANGEABLE).values_list(
                        "resource_id", flat=True
                    )
                )
            for rid in self.rng.sample(ids, min(len(ids), per_tenant)):
                self.client.modify_resource(
                    rid,
                    {
                        "tags": {"drift": uuid.uuid4().hex},
                        "properties": {"publicNetworkAccess": "Enabled"},
                    },
                    caller="bench@msp",
                )
                changed += 1
        return changed


def backend_cpu_ms(pid: int) -> float:
    """CPU milliseconds used so far by PostgreSQL backend ``pid`` (the server runs on this
    machine), from the scheduler's nanosecond count: the 10 ms ticks of /proc/<pid>/stat
    made a per-pass figure move by a millisecond."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def analyze() -> None:
    """VACUUM ANALYZE the freshly loaded database, as autovacuum would have done a minute
    later on a database that has been running: without statistics the planner takes
    tables of 1,000 rows for empty ones and scans them instead of using their unique or
    partial indexes (pgbench's set-up also vacuums after loading)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f}s")


def _detect_one(tenant_id: int) -> tuple[int, int]:
    """One pool task: a detection pass of the tenant (as the drift task does it, the
    tenant read by id, holding the tenant's detection lock); (resources drifted, findings
    opened)."""
    from django_tenants.utils import tenant_context

    from drift.services import run_exclusive_detection
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        report = run_exclusive_detection(tenant, actor="bench")
    return report.resources_drifted, report.opened


def parse_args(doc: str, *, tenants: int, port: int, database: str) -> argparse.Namespace:
    """The options both benchmarks take (their defaults differ)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=tenants)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--port", type=int, default=port, help="the simulator's port")
    parser.add_argument("--database", default=database)
    parser.add_argument("--profile", action="store_true", help="cProfile the passes (stderr)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="changed rounds timed with the detection processes (bench/drift.py reports "
        "their median)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=drift_worker_concurrency(),
        help="detection processes for the parallel passes (default: docker-compose.yml's "
        "worker-drift --concurrency)",
    )
    return parser.parse_args()


def drift_worker_concurrency() -> int:
    """The ``--concurrency`` of docker-compose.yml's drift worker (what ships)."""
    import shlex

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = shlex.split(compose["services"]["worker-drift"]["command"])
    return int(command[command.index("--concurrency") + 1])


@contextmanager
def drift_bench(args: argparse.Namespace, *, name: str, first_id: int) -> Iterator[DriftBench]:
    """The simulator started, a fresh database migrated, ``args.tenants`` tenants of
    ``args.resources`` resources onboarded and collected once; the simulator is stopped on
    the way out."""
    state_dir = ROOT / "var" / f"bench-{name}-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    specs = tenant_specs(name, args.tenants, args.resources, first_id=first_id)
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command

        from azuresim.client import SimClient

        call_command("migrate_schemas", verbosity=0)
        bench = DriftBench(onboard_fleet(specs), SimClient(sim_url, state_dir / "ca.pem"))
        bench.collect_all()
        try:
            yield bench
        finally:
            bench.close()
    finally:
        sim.terminate()


@contextmanager
def profiled(label: str, enabled: bool, top: int = 25) -> Iterator[None]:
    """cProfile the block when ``enabled``; its top entries (by own time and by
    cumulative time) go to stderr under ``label``."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order).print_stats(top)
            log(f"--- profile: {label}, by {order} ---\n{out.getvalue()}")
