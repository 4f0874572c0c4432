"""End-to-end latency with the change watch: a change in the simulator -> open finding ->
delivered message, through real processes with the default settings.

A fresh database, the simulator in its own process (unthrottled, resourcechanges lag 0),
``--tenants`` tenants of ``--resources`` resources onboarded with one app registration,
a real Celery worker (queues poll, drift, notify) and beat (DatabaseScheduler) with the
product's defaults: a change watch every 30 s per tenant (the fleet-wide sweep every
5 s), full passes hourly. Each tenant has one webhook channel (to an in-process
receiver) and a rule for every severity. After one full pass per tenant (the baseline),
``--probes`` changes (an NSG opened to the Internet, each in another random tenant, at
random moments) are timed to their open finding and to the message's arrival; the
watch's Resource Graph queries are counted over the same window. The last line printed
is one JSON object::

    {"bench": "latency", "change_to_finding_p50_s", "change_to_finding_p95_s",
     "change_to_delivery_p95_s", "watch_queries_per_tenant_per_min",
     "default_schedule_worst_s", ...}

``default_schedule_worst_s`` is the schedule's bound: watch interval + sweep period + the
slowest watch -> finding work measured (on Azure, add its ingestion delay: 95 % of
changes within ~30 s). ``--watch-only`` measures the watch alone for N tenants (no
probes, no notifications): Resource Graph calls per minute and worker CPU per tenant,
for the fleet benchmark to quote::

    python bench/latency.py                                   (100 x 1,000, 30 probes)
    python bench/latency.py --watch-only --tenants 1000 --resources 20 --duration 180
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from poll import (
    cpu_seconds,
    log,
    onboard_fleet,
    start_simulator,
    tenant_specs,
    use_simulator,
    worker_env,
)

WATCH_INTERVAL_S = 30  # configurations.watch.DEFAULT_WATCH_INTERVAL_SECONDS
SWEEP_S = 5  # settings.WATCH_SWEEP_SECONDS
GRAPH_BUDGET_PER_MIN = 15 * 60 / 5  # Resource Graph: 15 queries per 5 s per principal/tenant


def start_celery(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "driftdetector", *args, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_baselines(tenants: list, timeout: float) -> None:
    from django_tenants.utils import tenant_context

    from drift.models import DriftReport

    deadline = time.monotonic() + timeout
    pending = list(tenants)
    while pending and time.monotonic() < deadline:
        still = []
        for tenant in pending:
            with tenant_context(tenant):
                if not DriftReport.objects.filter(finished_at__isnull=False).exists():
                    still.append(tenant)
        pending = still
        time.sleep(1)
    if pending:
        raise RuntimeError(f"{len(pending)} tenants had no detection within {timeout}s")


def default_settings(tenants: list) -> None:
    """Give every tenant the shipped polling defaults; the hourly pass just ran."""
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from tenants import services
    from tenants.defaults import DEFAULT_POLLING_SETTINGS

    for tenant in tenants:
        services.update_settings(
            tenant, actor="bench", polling_settings=dict(DEFAULT_POLLING_SETTINGS)
        )
    PeriodicTask.objects.filter(name__startswith="poll-tenant:").update(last_run_at=timezone.now())


def watch_queries() -> int:
    from django.db.models import Sum

    from tenants.models import ChangeWatch

    return ChangeWatch.objects.aggregate(total=Sum("queries"))["total"] or 0


class Probe:
    """One change in one tenant, and when its finding and its message appeared."""

    def __init__(self, tenant, nsg: str, at: float) -> None:
        self.tenant, self.nsg, self.at = tenant, nsg, at
        self.changed_at = 0.0
        self.finding_at: float | None = None
        self.delivered_at: float | None = None
        self.report_id: int | None = None
        self.work_s = 0.0

    def fire(self, client) -> None:
        self.changed_at = time.time()
        client.open_inbound_port(
            self.nsg, caller="bench@msp", rule_name=f"bench-{uuid.uuid4().hex[:6]}"
        )

    def check(self, inbox) -> None:
        from datetime import UTC, datetime

        from django_tenants.utils import tenant_context

        from configurations.models import PollRun
        from drift.models import DriftFinding

        if self.finding_at is None:
            with tenant_context(self.tenant):
                finding = (
                    DriftFinding.objects.filter(
                        resource_id=self.nsg,
                        status="open",
                        first_seen__gte=datetime.fromtimestamp(self.changed_at, UTC),
                    )
                    .select_related("last_report")
                    .first()
                )
                if finding is not None:
                    self.finding_at = time.time()
                    self.report_id = finding.last_report_id
                    run = PollRun.objects.get(pk=finding.last_report.poll_run_id)
                    self.work_s = self.finding_at - run.started_at.timestamp()
        if self.report_id is not None and self.delivered_at is None:
            for message in list(inbox.messages):
                data = message["body"]["data"]
                if (data["tenant"]["slug"], data["report_id"]) == (
                    self.tenant.slug,
                    self.report_id,
                ):
                    self.delivered_at = message["received_at"]
                    break


def nsg_of(tenant, rng: random.Random) -> str:
    from django_tenants.utils import tenant_context

    from configurations.models import Configuration

    with tenant_context(tenant):
        ids = list(
            Configuration.objects.filter(
                resource_type="microsoft.network/networksecuritygroups", deleted_at__isnull=True
            ).values_list("resource_id", flat=True)
        )
    return rng.choice(ids)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


def run_probes(client, inbox, tenants: list, count: int, rng: random.Random) -> list[Probe]:
    """Fire ``count`` changes in distinct tenants at random moments over a window of
    ~6 s per probe, then wait until each has its finding and its message."""
    window = max(WATCH_INTERVAL_S, count * 6)
    start = time.time()
    probes = sorted(
        (
            Probe(tenant, nsg_of(tenant, rng), start + rng.uniform(0, window))
            for tenant in rng.sample(tenants, min(count, len(tenants)))
        ),
        key=lambda p: p.at,
    )
    deadline = start + window + 240
    while time.time() < deadline:
        now = time.time()
        for probe in probes:
            if probe.changed_at == 0.0 and probe.at <= now:
                probe.fire(client)
            elif probe.changed_at and probe.delivered_at is None:
                probe.check(inbox)
        if all(p.delivered_at is not None for p in probes):
            break
        time.sleep(0.25)
    late = [p.tenant.slug for p in probes if p.delivered_at is None]
    if late:
        raise RuntimeError(f"no finding or message within the deadline for {late}")
    return probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18445)
    parser.add_argument("--database", default="bench_latency")
    parser.add_argument(
        "--watch-only", action="store_true", help="measure the watch alone (no probes)"
    )
    parser.add_argument(
        "--duration", type=float, default=180.0, help="--watch-only: seconds measured"
    )
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-latency-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    os.environ.update(NOTIFY_ALLOWED_NETWORKS="127.0.0.0/8")
    specs = tenant_specs("latency", args.tenants, args.resources, first_id=70000)
    sys.path.insert(0, str(ROOT))
    from notifications import inbox as inbox_module

    (state_dir / "sim.json").unlink(missing_ok=True)  # a stale one would pass for "started"
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    processes: list[subprocess.Popen] = []
    running = inbox_module.start()
    rng = random.Random(5)
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command

        from azuresim.client import SimClient
        from tenants import services

        call_command("migrate_schemas", verbosity=0)
        tenants = onboard_fleet(specs)
        log(f"{len(tenants)} tenants onboarded")
        worker = start_celery(
            [
                "worker",
                "-Q",
                "poll,drift,notify",
                "--concurrency",
                str(args.concurrency),
                "-n",
                f"latency-{uuid.uuid4().hex[:6]}@%h",
            ]
        )
        processes.append(worker)
        for tenant in tenants:
            services.request_poll(tenant, trigger="bench")
        wait_for_baselines(tenants, timeout=3600)
        log(f"{len(tenants)} tenants collected and baselined by one full pass each")
        default_settings(tenants)
        if not args.watch_only:
            from notify import set_up_notifications  # notify imports this module

            set_up_notifications(tenants, running.url)
        beat = start_celery(["beat", "--pidfile", str(state_dir / "beat.pid")])
        processes.append(beat)
        time.sleep(WATCH_INTERVAL_S + SWEEP_S)  # every tenant's first watch has run
        queries_before, clock_before = watch_queries(), time.monotonic()
        cpu_before = cpu_seconds(worker), cpu_seconds(beat)
        if args.watch_only:
            time.sleep(args.duration)
            probes: list[Probe] = []
        else:
            client = SimClient(sim_url, state_dir / "ca.pem")
            probes = run_probes(client, running.inbox, tenants, args.probes, rng)
        minutes = (time.monotonic() - clock_before) / 60
        queries = watch_queries() - queries_before
        worker_cpu = cpu_seconds(worker) - cpu_before[0]
        beat_cpu = cpu_seconds(beat) - cpu_before[1]
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sim.terminate()
        running.stop()

    per_tenant_per_min = round(queries / len(tenants) / minutes, 2)
    common = {
        "tenants": args.tenants,
        "resources": args.resources,
        "watch_queries_per_min": round(queries / minutes, 1),
        "watch_queries_per_tenant_per_min": per_tenant_per_min,
        "watch_budget_share": round(per_tenant_per_min / GRAPH_BUDGET_PER_MIN, 4),
        "worker_cpu_s_per_tenant_per_min": round(worker_cpu / len(tenants) / minutes, 4),
        "beat_cpu_s_per_min": round(beat_cpu / minutes, 3),
    }
    if args.watch_only:
        print(json.dumps({"bench": "latency_watch", **common, "minutes": round(minutes, 2)}))
        return
    to_finding = [p.finding_at - p.changed_at for p in probes]  # type: ignore[operator]
    to_delivery = [p.delivered_at - p.changed_at for p in probes]  # type: ignore[operator]
    work = [p.work_s for p in probes]
    log(
        "probes (change -> finding, -> delivery): "
        + ", ".join(f"{f:.1f}/{d:.1f}" for f, d in zip(to_finding, to_delivery, strict=True))
    )
    print(
        json.dumps(
            {
                "bench": "latency",
                **common,
                "probes": len(probes),
                "change_to_finding_p50_s": round(statistics.median(to_finding), 2),
                "change_to_finding_p95_s": percentile(to_finding, 0.95),
                "change_to_finding_max_s": round(max(to_finding), 2),
                "change_to_delivery_p50_s": round(statistics.median(to_delivery), 2),
                "change_to_delivery_p95_s": percentile(to_delivery, 0.95),
                "watch_to_finding_max_s": round(max(work), 2),
                "default_schedule_worst_s": round(WATCH_INTERVAL_S + SWEEP_S + max(work), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
