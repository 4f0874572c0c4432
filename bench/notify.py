"""Notifications end to end: simulator change -> poll -> detect -> notify -> loopback receiver.

Real processes: the simulator, Celery beat (the delivery sweep every second), a worker
for the poll and drift queues and one for the notify queue; an in-process receiver that
honours webhook-id (notifications.inbox). Every tenant has one webhook channel and a
rule for every severity.

1. Probes: change one resource in a random tenant, poll it, and time poll finished ->
   message received (pipeline_p50_s / p95) and poll started -> received (the work after
   a poll begins; default_schedule_worst_s adds the default 4-minute poll interval, the
   longest a change can wait for its pass).
2. Burst: ``--per-tenant`` changed resources in every tenant (1,000 new findings for
   100 x 10), all tenants polled and detected with the notify worker stopped; then the
   notify worker starts and the backlog drains: deliveries_per_s is the receiver's rate
   from first to last message of the burst.
3. Kill: another burst with the notify worker running; it is SIGKILLed after a third of
   the messages arrived and a new one started. lost = findings opened but never
   received; duplicates = (finding, event) pairs that arrived under more than one
   webhook-id (a receiver honouring webhook-id would act twice); redelivered = repeats of
   one webhook-id the receiver dropped.

    python bench/notify.py --tenants 100 --resources 40 --per-tenant 10 --probes 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django
from latency import wait_for_baselines
from poll import log, onboard_fleet, start_simulator, tenant_specs, use_simulator, worker_env

DEFAULT_INTERVAL_S = 4 * 60


def start_celery(args: list[str], name: str) -> subprocess.Popen:
    logs = ROOT / "var" / "bench-notify-logs"
    logs.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "driftdetector", *args, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=worker_env(),
        stdout=(logs / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def notify_worker(concurrency: int) -> subprocess.Popen:
    return start_celery(
        [
            "worker",
            "-Q",
            "notify",
            "--concurrency",
            str(concurrency),
            "-n",
            f"bench-notify-{uuid.uuid4().hex[:6]}@%h",
        ],
        "notify-worker",
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def set_up_notifications(tenants: list, inbox_url: str) -> None:
    from django_tenants.utils import tenant_context

    from notifications import services

    for tenant in tenants:
        with tenant_context(tenant):
            hook = services.create_channel(
                name="bench webhook",
                kind="webhook",
                url=f"{inbox_url}/{tenant.slug}/webhook",
                secret=services.generate_secret(),
                actor="bench",
            )
            services.create_rule(
                name="all drift", actor="bench", channels=[hook], min_severity="low"
            )


def resources_of(tenant, count: int, rng: random.Random) -> list[str]:
    from django_tenants.utils import tenant_context

    from configurations.models import Configuration

    with tenant_context(tenant):
        ids = list(
            Configuration.objects.filter(deleted_at__isnull=True).values_list(
                "resource_id", flat=True
            )
        )
    return rng.sample(ids, min(count, len(ids)))


def change(client, resource_id: str, key: str) -> None:
    client.modify_resource(resource_id, {"properties": {key: uuid.uuid4().hex}}, caller="bench@msp")


def poll(tenants: list) -> None:
    from tenants import services

    for tenant in tenants:
        services.request_poll(tenant, trigger="bench")


def probe(client, inbox, tenant, rng: random.Random, n: int) -> dict[str, float]:
    from django_tenants.utils import tenant_context

    from configurations.models import PollRun
    from drift.models import DriftReport

    [resource] = resources_of(tenant, 1, rng)
    seen = {
        (m["body"]["data"]["tenant"]["slug"], m["body"]["data"]["report_id"])
        for m in list(inbox.messages)
    }
    change(client, resource, f"benchProbe{n}")
    poll([tenant])

    def arrived():
        for m in list(inbox.messages):
            data = m["body"]["data"]
            key = (data["tenant"]["slug"], data["report_id"])
            if key[0] == tenant.slug and key not in seen:
                return m
        return None

    message = wait_until(arrived, 120, f"a message from {tenant.slug}")
    with tenant_context(tenant):
        report = DriftReport.objects.get(pk=message["body"]["data"]["report_id"])
        run = PollRun.objects.get(pk=report.poll_run_id)
    received = message["received_at"]
    return {
        "pipeline_s": received - run.finished_at.timestamp(),
        "after_poll_start_s": received - run.started_at.timestamp(),
        "poll_s": (run.finished_at - run.started_at).total_seconds(),
        "detect_s": (report.finished_at - report.started_at).total_seconds(),
        "notify_s": received - report.finished_at.timestamp(),
    }


def burst(client, tenants: list, per_tenant: int, key: str, rng: random.Random) -> None:
    """Change ``per_tenant`` resources of each tenant (a new path ``key`` on each)."""
    started = time.monotonic()
    for tenant in tenants:
        for resource_id in resources_of(tenant, per_tenant, rng):
            change(client, resource_id, key)
    log(f"{len(tenants) * per_tenant} resources changed in {time.monotonic() - started:.1f}s")


def opened_since(tenants: list, since, key: str) -> set[str]:
    """dedupe keys (slug:finding id) of the findings opened on path ``key`` since ``since``."""
    from django_tenants.utils import tenant_context

    from drift.models import DriftFinding

    expected = set()
    for tenant in tenants:
        with tenant_context(tenant):
            for pk in DriftFinding.objects.filter(
                first_seen__gte=since, path=f"properties.{key}"
            ).values_list("pk", flat=True):
                expected.add(f"{tenant.slug}:{pk}")
    return expected


def reports_done(tenants: list, since) -> bool:
    from django_tenants.utils import tenant_context

    from drift.models import DriftReport

    for tenant in tenants:
        with tenant_context(tenant):
            if not DriftReport.objects.filter(
                started_at__gte=since, finished_at__isnull=False
            ).exists():
                return False
    return True


def received_pairs(messages: list[dict]) -> dict[tuple[str, str], set[str]]:
    pairs: dict[tuple[str, str], set[str]] = {}
    for m in messages:
        for f in m["body"]["data"]["findings"]:
            pairs.setdefault((f["dedupe_key"], f["event"]), set()).add(m["id"])
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--resources", type=int, default=40)
    parser.add_argument("--per-tenant", type=int, default=10)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--notify-concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18447)
    parser.add_argument("--database", default="bench_notify")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="DATABASE_CONN_MAX_AGE of the workers (0 opens a connection per task)",
    )
    args = parser.parse_args()

    state_dir = ROOT / "var" / "bench-notify-azuresim"
    sim_url = use_simulator(state_dir, args.port)
    os.environ.update(
        NOTIFY_ALLOWED_NETWORKS="127.0.0.0/8",
        NOTIFY_LEASE_SECONDS="5",
        NOTIFY_SWEEP_SECONDS="1",
        NOTIFY_TIMEOUT_SECONDS="10",
        DATABASE_CONN_MAX_AGE=str(args.conn_max_age),
    )
    specs = tenant_specs("notify", args.tenants, args.resources, first_id=90000)
    (state_dir / "sim.json").unlink(missing_ok=True)  # a stale one would pass for "started"
    sim = start_simulator(state_dir, args.port, {"tenants": specs})
    processes: list[subprocess.Popen] = []
    notifier: subprocess.Popen | None = None
    rng = random.Random(11)
    sys.path.insert(0, str(ROOT))
    from notifications import inbox as inbox_module

    running = inbox_module.start()
    inbox = running.inbox
    try:
        setup_django(fresh_database(args.database))
        from django.core.management import call_command
        from django.utils import timezone

        from azuresim.client import SimClient

        call_command("migrate_schemas", verbosity=0)
        tenants = onboard_fleet(specs)
        client = SimClient(sim_url, state_dir / "ca.pem")
        processes.append(
            start_celery(
                [
                    "worker",
                    "-Q",
                    "poll,drift",
                    "--concurrency",
                    str(args.concurrency),
                    "-n",
                    f"bench-pipeline-{uuid.uuid4().hex[:6]}@%h",
                ],
                "pipeline-worker",
            )
        )
        processes.append(start_celery(["beat", "--pidfile", str(state_dir / "beat.pid")], "beat"))
        notifier = notify_worker(args.notify_concurrency)
        poll(tenants)
        wait_for_baselines(tenants, timeout=600)
        set_up_notifications(tenants, running.url)
        log(f"{len(tenants)} tenants baselined, one webhook channel and rule each")

        samples = [probe(client, inbox, rng.choice(tenants), rng, n) for n in range(args.probes)]
        for s in samples:
            log("probe: " + ", ".join(f"{k}={v:.2f}" for k, v in s.items()))

        # Burst: detection with the notify queue stopped, then the backlog drains.
        stop(notifier)
        inbox.clear()
        since = timezone.now()
        burst(client, tenants, args.per_tenant, "benchBurst", rng)
        poll(tenants)
        wait_until(lambda: reports_done(tenants, since), 900, "the burst's detections")
        expected = opened_since(tenants, since, "benchBurst")
        notifier = notify_worker(args.notify_concurrency)
        wait_until(lambda: len(received_pairs(inbox.messages)) >= len(expected), 600, "the burst")
        times = sorted(m["received_at"] for m in inbox.messages)
        burst_deliveries = len(times)
        rate = (burst_deliveries - 1) / (times[-1] - times[0]) if burst_deliveries > 1 else 0.0
        log(f"burst: {len(expected)} findings in {burst_deliveries} deliveries, {rate:.1f}/s")

        # Kill: the notify worker dies a third of the way through a burst.
        inbox.clear()
        since = timezone.now()
        burst(client, tenants, args.per_tenant, "benchKill", rng)
        poll(tenants)
        wait_until(
            lambda: len(inbox.messages) >= len(tenants) // 3, 600, "a third of the kill burst"
        )
        stop(notifier, signal.SIGKILL)
        log(f"notify worker killed after {len(inbox.messages)} messages")
        notifier = notify_worker(args.notify_concurrency)
        wait_until(lambda: reports_done(tenants, since), 900, "the kill burst's detections")
        expected_kill = opened_since(tenants, since, "benchKill")

        def all_in():
            got = {k for k, _ in received_pairs(inbox.messages)}
            return expected_kill <= got

        try:
            wait_until(all_in, 300, "every finding of the kill burst")
        except RuntimeError as exc:
            log(str(exc))
        time.sleep(8)  # let any late repeat arrive before counting
        pairs = received_pairs(inbox.messages)
        got = {k for k, _ in pairs}
        lost = len(expected_kill - got)
        duplicates = sum(1 for ids in pairs.values() if len(ids) > 1)
        redelivered = inbox.redeliveries()
    finally:
        for proc in [*processes, notifier]:
            if proc is not None and proc.poll() is None:
                stop(proc)
        sim.terminate()
        try:
            sim.wait(timeout=15)
        except subprocess.TimeoutExpired:
            sim.kill()
        running.stop()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)

    pipeline = [s["pipeline_s"] for s in samples]
    print(
        json.dumps(
            {
                "bench": "notify",
                "tenants": args.tenants,
                "conn_max_age": args.conn_max_age,
                "probes": len(samples),
                "burst_findings": len(expected),
                "burst_deliveries": burst_deliveries,
                "kill_findings": len(expected_kill),
                "redelivered": redelivered,
                "notify_median_s": round(statistics.median(s["notify_s"] for s in samples), 3),
                "pipeline_p50_s": pct(pipeline, 0.5),
                "pipeline_p95_s": pct(pipeline, 0.95),
                "deliveries_per_s": round(rate, 1),
                "duplicates": duplicates,
                "lost": lost,
                "default_schedule_worst_s": round(
                    DEFAULT_INTERVAL_S + max(s["after_poll_start_s"] for s in samples), 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
