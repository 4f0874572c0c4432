"""End-to-end latency: a change in the simulator -> an open finding, through real processes.

Celery beat (DatabaseScheduler) fires each tenant's PeriodicTask every ``--interval``
seconds, a real Celery worker (queues poll and drift) collects through the SDK from the
simulator and then detects. For ``--probes`` changes (an NSG rule opening SSH to the
Internet in a random tenant) it waits for the open finding and splits the time into:
wait for the next scheduled poll, the poll pass, the queue hop to the drift task, and
the detection pass. The default schedule (4 minutes) only changes the first piece, so
the last line also gives the expected and worst figures for it. The last line printed
is one JSON object.

    python bench/latency.py --tenants 10 --resources 1000 --interval 10 --probes 8
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from poll import log, onboard_fleet, start_simulator, tenant_specs, use_simulator, worker_env

DEFAULT_INTERVAL_S = 4 * 60


def start_celery(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "driftdetector", *args, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def schedule_every(tenants: list, seconds: int) -> None:
    """Enable each tenant's polling task at a seconds interval (the product uses minutes)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    names = [f"poll-tenant:{tenant.slug}" for tenant in tenants]
    PeriodicTask.objects.filter(name__in=names).update(interval=interval, enabled=True)
    PeriodicTask.objects.filter(name__in=names).first().save()  # bumps the beat's change mark


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
        time.sleep(0.5)
    if pending:
        raise RuntimeError(f"{len(pending)} tenants had no detection within {timeout}s")


def probe_once(client, tenant, timeout: float) -> dict[str, float]:
    """Change one NSG, wait for its open finding, return the breakdown in seconds."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from configurations.models import Configuration, PollRun
    from drift.models import DriftFinding

    with tenant_context(tenant):
        nsg = (
            Configuration.objects.filter(
                resource_type="microsoft.network/networksecuritygroups", deleted_at__isnull=True
            )
            .order_by("?")
            .values_list("resource_id", flat=True)
            .first()
        )
    changed_at = timezone.now()
    client.open_inbound_port(nsg, caller="bench@msp", rule_name=f"bench-{uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + timeout
    finding = None
    while time.monotonic() < deadline:
        with tenant_context(tenant):
            finding = (
                DriftFinding.objects.filter(
                    resource_id=nsg, status="open", first_seen__gte=changed_at
                )
                .select_related("last_report")
                .first()
            )
        if finding is not None:
            break
        time.sleep(0.05)
    if finding is None:
        raise RuntimeError(f"no finding for {nsg} within {timeout}s")
    seen_at = timezone.now()
    report = finding.last_report
    with tenant_context(tenant):
        run = PollRun.objects.get(pk=report.poll_run_id)
    return {
        "total_s": (seen_at - changed_at).total_seconds(),
        "wait_for_poll_s": (run.started_at - changed_at).total_seconds(),
        "poll_s": (run.finished_at - run.started_at).total_seconds(),
        "queue_s": (report.started_at - run.finished_at).total_seconds(),
        "detect_s": (report.finished_at - report.started_at).total_seconds(),
        "observe_s": (seen_at - report.finished_at).total_seconds(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=10, help="polling interval, seconds")
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18445)
    parser.add_argument("--database", default="bench_latency")
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-latency-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    specs = tenant_specs("latency", args.tenants, args.resources, first_id=70000)
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    processes: list[subprocess.Popen] = []
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command

        from azuresim.client import SimClient

        call_command("migrate_schemas", verbosity=0)
        tenants = onboard_fleet(specs)
        processes.append(
            start_celery(
                [
                    "worker",
                    "-Q",
                    "poll,drift",
                    "--concurrency",
                    str(args.concurrency),
                    "-n",
                    f"latency-{uuid.uuid4().hex[:6]}@%h",
                ]
            )
        )
        beat_schedule = state_dir / "beat.pid"
        processes.append(start_celery(["beat", "--pidfile", str(beat_schedule)]))
        schedule_every(tenants, args.interval)
        wait_for_baselines(tenants, timeout=300)
        log(f"{len(tenants)} tenants polled and baselined every {args.interval}s")

        client = SimClient(sim_url, state_dir / "ca.pem")
        rng = random.Random(5)
        samples = []
        for i in range(args.probes):
            time.sleep(rng.uniform(0, args.interval))  # changes land anywhere in the cycle
            sample = probe_once(client, rng.choice(tenants), timeout=args.interval * 6 + 60)
            log(f"probe {i + 1}: " + ", ".join(f"{k}={v:.2f}" for k, v in sample.items()))
            samples.append(sample)
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sim.terminate()

    def median(key: str) -> float:
        return round(statistics.median(s[key] for s in samples), 3)

    def worst(key: str) -> float:
        return round(max(s[key] for s in samples), 3)

    work_median = median("poll_s") + median("queue_s") + median("detect_s")
    work_worst = worst("poll_s") + worst("queue_s") + worst("detect_s")
    print(
        json.dumps(
            {
                "bench": "latency",
                "tenants": args.tenants,
                "resources": args.resources,
                "interval_s": args.interval,
                "probes": len(samples),
                "total_median_s": median("total_s"),
                "total_max_s": worst("total_s"),
                "wait_for_poll_median_s": median("wait_for_poll_s"),
                "poll_median_s": median("poll_s"),
                "queue_median_s": median("queue_s"),
                "detect_median_s": median("detect_s"),
                "default_schedule_expected_s": round(DEFAULT_INTERVAL_S / 2 + work_median, 1),
                "default_schedule_worst_s": round(DEFAULT_INTERVAL_S + work_worst, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
