"""Shared set-up of the benchmarks that run the real pipeline: the simulator in its own
process, simulated tenants onboarded with one app registration, a real Celery worker,
a collection phase over the fleet, and the fleet's public summary rows.

Imported by ``poll.py``, ``fleet.py`` and the other pipeline benchmarks (named with a
leading underscore so it never shadows an app).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _db import ROOT

CLIENT_ID = "5a0d4a3e-0000-4000-8000-00000000b0b0"
SECRET = "bench-secret"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_simulator(state_dir: Path, port: int, config: dict) -> subprocess.Popen:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "bench.json").write_text(json.dumps(config))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "azuresim",
            "--port",
            str(port),
            "--state-dir",
            str(state_dir),
            "--config",
            str(state_dir / "bench.json"),
            "--throttling",
            "off",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if (state_dir / "sim.json").exists():
            time.sleep(0.3)
            return proc
        time.sleep(0.1)
    raise RuntimeError("simulator did not start")


def use_simulator(state_dir: Path, port: int) -> str:
    """Point the Azure endpoints of this process (and its children) at the simulator."""
    sim_url = f"https://127.0.0.1:{port}"
    os.environ.update(
        AZURE_AUTHORITY_HOST=sim_url,
        AZURE_ARM_ENDPOINT=sim_url,
        AZURE_GRAPH_ENDPOINT=sim_url,
        AZURE_CA_BUNDLE=str(state_dir / "ca.pem"),
        LOG_LEVEL="WARNING",
    )
    return sim_url


def tenant_specs(prefix: str, count: int, resources: int, first_id: int) -> list[dict]:
    """Simulated tenants ``<prefix>-000``.. with one app registration and 2 subscriptions."""
    return [
        {
            "name": f"{prefix}-{i:03d}",
            "tenant_id": str(uuid.UUID(int=first_id + i)),
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "subscriptions": 2,
            "resources": resources,
            "seed": first_id + i,
        }
        for i in range(count)
    ]


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "LOG_LEVEL": "WARNING", **(extra or {})}


def onboard_fleet(specs: list[dict], timings: list[float] | None = None) -> list:
    """Onboard the simulated tenants with one app registration, schedules paused.

    The credential is attached afterwards so onboarding queues no first poll: the
    benchmark decides when passes run. With ``timings``, each onboarding's wall time is
    appended to it, measured as one request would see it (service call, then the
    connection closed).
    """
    from django.db import connection

    from tenants import services
    from tenants.models import Tenant

    credential = services.save_azure_credential(
        name="bench app", client_id=CLIENT_ID, client_secret=SECRET
    )
    quiet = {"polling_settings": {"enabled": False, "interval_minutes": 60, "page_size": 1000}}
    ids = []
    for n, spec in enumerate(specs, 1):
        started = time.perf_counter()
        ids.append(
            services.onboard_tenant(
                name=spec["name"],
                slug=spec["name"],
                azure_tenant_id=spec["tenant_id"],
                actor="bench",
                settings_overrides=quiet,
            ).pk
        )
        if timings is not None:
            connection.close()
            timings.append(time.perf_counter() - started)
            if n % 100 == 0:
                log(f"{n} tenants onboarded (last: {timings[-1] * 1000:.0f} ms)")
    Tenant.objects.filter(pk__in=ids).update(azure_credential=credential)
    return list(
        Tenant.objects.filter(pk__in=ids).select_related("azure_credential").order_by("slug")
    )


def start_worker(
    concurrency: int, extra: dict[str, str] | None = None, queues: str = "poll"
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "driftdetector",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "-n",
            f"bench-{uuid.uuid4().hex[:6]}@%h",
        ],
        cwd=ROOT,
        env=worker_env(extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_seconds(*procs: subprocess.Popen | None) -> float:
    """User+system CPU of processes and their children so far (simulator, Celery worker)."""
    import psutil

    total = 0.0
    for proc in procs:
        if proc is None:
            continue
        try:
            parent = psutil.Process(proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def run_phase(name: str, tenants: list, trigger: str, timeout: float = 1800) -> dict[str, float]:
    """Send one poll task per tenant; wait (one query on TenantStatus) until every pass is done."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from configurations.models import PollRun
    from tenants.models import TenantStatus
    from tenants.services import request_poll

    since = timezone.now()
    started = time.perf_counter()
    for tenant in tenants:
        request_poll(tenant, trigger=trigger)  # no transaction here: sent at once
    ids = [t.pk for t in tenants]
    while TenantStatus.objects.filter(tenant_id__in=ids, last_poll_at__gte=since).count() < len(
        ids
    ):
        time.sleep(0.2)
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{name}: passes still running after {timeout:.0f} s")
    elapsed = time.perf_counter() - started
    seen = 0
    statuses: dict[str, int] = {}
    for tenant in tenants:
        with tenant_context(tenant):
            run = PollRun.objects.filter(trigger=trigger).first()
        seen += run.seen
        statuses[run.status] = statuses.get(run.status, 0) + 1
    log(f"{name}: {seen} resources in {elapsed:.1f}s = {seen / elapsed:.0f}/s {statuses}")
    return {"seen": seen, "seconds": elapsed, "rps": seen / elapsed}


SEVERITIES = ("low", "medium", "high", "critical")


def fleet_state(tenants: list) -> None:
    """Poll status, open drift and 30 daily trend points per tenant (as after a month).

    Status rows a real pass already wrote are updated (their poll times kept), missing
    ones created; trend points replace any of the same day.
    """
    from django.utils import timezone

    from tenants.models import FindingTrendPoint, TenantStatus

    now = timezone.now()
    today = timezone.localdate()
    rng = random.Random(1)
    existing = {s.tenant_id: s for s in TenantStatus.objects.filter(tenant__in=tenants)}
    statuses, points = [], []
    for tenant in tenants:
        counts = {s: rng.randint(0, 9) for s in SEVERITIES}
        failing = rng.random() < 0.05
        status = existing.get(tenant.pk) or TenantStatus(
            tenant=tenant,
            last_poll_at=now,
            last_poll_status="failed" if failing else "succeeded",
            consecutive_failures=1 if failing else 0,
            last_successful_poll_at=now - timedelta(minutes=5),
            resource_count=rng.randint(100, 5000),
        )
        status.open_findings = counts
        status.last_detection_at = now
        statuses.append(status)
        points.extend(
            FindingTrendPoint(
                tenant=tenant,
                day=today - timedelta(days=d),
                open_findings={s: rng.randint(0, 9) for s in SEVERITIES},
            )
            for d in range(30)
        )
    TenantStatus.objects.bulk_create(
        statuses,
        update_conflicts=True,
        unique_fields=["tenant"],
        update_fields=["open_findings", "last_detection_at"],
    )
    FindingTrendPoint.objects.bulk_create(
        points,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["tenant", "day"],
        update_fields=["open_findings"],
    )


def p95(samples: list[float]) -> float:
    """95th percentile of ``samples`` (seconds) in milliseconds."""
    import statistics

    return round(statistics.quantiles(samples, n=20)[-1] * 1000, 1)


def measure(client, urls: list[str], samples: int) -> list[float]:
    """Seconds per GET of ``urls`` in turn (after a warm-up of each); any non-200 raises."""
    times = []
    for url in urls[:3]:  # warm-up
        client.get(url)
    for i in range(samples):
        url = urls[i % len(urls)]
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return times


class RssSampler:
    """Samples the resident memory of a process tree (a Celery worker: parent and pool
    processes) every ``interval`` seconds in a thread, to show whether it stays flat."""

    def __init__(self, proc: subprocess.Popen, interval: float = 1.0) -> None:
        self.proc = proc
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, largest MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _largest_mb(self) -> float:
        import psutil

        largest = 0.0
        try:
            parent = psutil.Process(self.proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                try:
                    largest = max(largest, p.memory_info().rss / 2**20)
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            pass
        return largest

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(self.interval):
            self.samples.append((time.perf_counter() - started, self._largest_mb()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        """Peak MB of the largest worker process, and the peak of the first and last
        quarter of the run (flat memory: the two are close)."""
        values = [mb for _, mb in self.samples] or [0.0]
        quarter = max(1, len(values) // 4)
        return {
            "peak_mb": round(max(values), 1),
            "first_quarter_peak_mb": round(max(values[:quarter]), 1),
            "last_quarter_peak_mb": round(max(values[-quarter:]), 1),
            "samples": len(values),
        }
