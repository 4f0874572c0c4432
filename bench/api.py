"""API benchmark: gunicorn as docker-compose runs it, one tenant with 50,000 resources
(each with a history row) and 5,000 findings, 10 concurrent clients.

Phases of ``--seconds`` each: list pages of 50 (configurations, following cursors, and
findings by severity), resource details, resource histories. The last line printed is one
JSON object: ``list_rps``, ``list_p50_ms``, ``list_p95_ms``, ``detail_p50_ms``,
``history_p95_ms``.

    python bench/api.py --resources 50000 --findings 5000 --clients 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, fresh_database, setup_django

SLUG = "bench-api"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(resources: int, findings: int) -> tuple[str, list[int]]:
    """The tenant, its rows and an MSP admin's token; returns (token, configuration ids)."""
    import uuid

    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import Role, User
    from accounts.services import create_api_token
    from configurations.models import Configuration, ConfigurationHistory
    from drift.choices import SEVERITIES
    from drift.models import DriftFinding
    from tenants.selectors import public_tenant
    from tenants.services import onboard_tenant

    call_command("migrate_schemas", verbosity=0)
    tenant = onboard_tenant(
        name="Bench API", slug=SLUG, azure_tenant_id=str(uuid.uuid4()), actor="bench"
    )
    now = timezone.now()
    with tenant_context(tenant):
        batch = []
        for i in range(resources):
            sub = f"{i % 4:08d}-0000-4000-8000-000000000000"
            group = f"/subscriptions/{sub}/resourcegroups/rg-{i % 50}"
            rid = f"{group}/providers/microsoft.storage/storageaccounts/sa{i}"
            batch.append(
                Configuration(
                    resource_id=rid,
                    resource_type="microsoft.storage/storageaccounts",
                    resource_name=f"sa{i}",
                    subscription_id=sub,
                    resource_group=f"rg-{i % 50}",
                    location="westeurope",
                    config_data={"id": rid, "properties": {"minimumTlsVersion": "TLS1_2"}},
                    config_hash=f"{i:064d}",
                    first_seen=now,
                    last_updated=now,
                )
            )
        Configuration.objects.bulk_create(batch, batch_size=5000)
        ids = list(Configuration.objects.values_list("pk", flat=True))
        ConfigurationHistory.objects.bulk_create(
            (
                ConfigurationHistory(
                    configuration_id=pk,
                    new_config={"properties": {"minimumTlsVersion": "TLS1_2"}},
                    changed_at=now,
                    change_type="created",
                    changed_by="bench@example.com",
                )
                for pk in ids
            ),
            batch_size=5000,
        )
        DriftFinding.objects.bulk_create(
            (
                DriftFinding(
                    resource_id=f"/subscriptions/x/providers/microsoft.storage/storageaccounts/sa{i}",
                    resource_type="microsoft.storage/storageaccounts",
                    kind="modified",
                    path="properties.minimumTlsVersion",
                    baseline_value="TLS1_2",
                    current_value="TLS1_0",
                    severity=SEVERITIES[i % len(SEVERITIES)],
                    matched_rule="bench",
                    first_seen=now,
                    last_seen=now,
                )
                for i in range(findings)
            ),
            batch_size=5000,
        )
    user = User.objects.create(
        username="bench-admin",
        tenant=public_tenant(),
        role=Role.objects.get(name="MSP Admin"),
        is_staff=True,
        is_superuser=True,
    )
    _, token = create_api_token(user=user, name="bench")
    return token, ids


def get(port: int, path: str, token: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return (time.perf_counter() - started) * 1000, response.status, body


def run_phase(
    clients: int, seconds: float, next_path, port: int, token: str
) -> tuple[list[float], int]:
    """``clients`` threads request ``next_path(state)`` for ``seconds``; latencies (ms) of
    successful answers and the count of failed ones."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        state: dict = {"rng": random.Random(n)}
        while time.perf_counter() < deadline:
            ms, status, body = get(port, next_path(state), token)
            with lock:
                if status == 200:
                    latencies.append(ms)
                else:
                    failures[0] += 1
            if status == 200 and "follow" in state:
                state["follow"](body)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 1) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--findings", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--database", default="bench_api")
    args = parser.parse_args()

    database_url = fresh_database(args.database)
    setup_django(database_url)
    log(f"seeding {args.resources} resources and {args.findings} findings")
    token, ids = seed(args.resources, args.findings)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "API_THROTTLE_RATE": "10000000/min",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "driftdetector.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"/t/{SLUG}/api/v1"
        for _ in range(100):
            try:
                if get(args.port, f"{base}/", token)[1] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer")

        def list_path(state: dict) -> str:
            if "follow" not in state:

                def follow(body: bytes) -> None:
                    nxt = json.loads(body).get("next")
                    state["next"] = (
                        urlsplit(nxt)._replace(scheme="", netloc="").geturl() if nxt else None
                    )

                state["follow"] = follow
            if state.get("next") and state["rng"].random() < 0.8:
                return state["next"]
            if state["rng"].random() < 0.5:
                return f"{base}/drift/findings/?limit=50&order=severity"
            return f"{base}/configurations/?limit=50"

        def detail_path(state: dict) -> str:
            return f"{base}/configurations/{state['rng'].choice(ids)}/"

        def history_path(state: dict) -> str:
            return f"{base}/configurations/{state['rng'].choice(ids)}/history/"

        log("list phase")
        lists, list_failed = run_phase(args.clients, args.seconds, list_path, args.port, token)
        log("detail phase")
        details, detail_failed = run_phase(
            args.clients, args.seconds / 2, detail_path, args.port, token
        )
        log("history phase")
        histories, history_failed = run_phase(
            args.clients, args.seconds / 2, history_path, args.port, token
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "bench": "api",
                "resources": args.resources,
                "findings": args.findings,
                "clients": args.clients,
                "workers": args.workers,
                "failed": list_failed + detail_failed + history_failed,
                "list_rps": round(len(lists) / args.seconds, 1),
                "list_p50_ms": pct(lists, 50),
                "list_p95_ms": pct(lists, 95),
                "detail_p50_ms": pct(details, 50),
                "history_p95_ms": pct(histories, 95),
            }
        )
    )


if __name__ == "__main__":
    main()
