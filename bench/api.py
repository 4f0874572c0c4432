"""API benchmark: gunicorn as docker-compose runs it, one tenant with 50,000 resources
(each with a history row) and 5,000 findings, 10 concurrent clients.

Phases: list pages of 50 for ``--seconds`` (configurations, following cursors, and
findings by severity), then resource details and resource histories for half as long
each. The last line printed is one JSON object: ``list_rps``, ``list_p50_ms``,
``list_p95_ms``, ``detail_p50_ms``, ``history_p95_ms``.

The server is started from the ``web`` service of docker-compose.yml (its gunicorn
arguments and the app environment that is not a URL or a secret), so the figures are for
the configuration that ships. The client is ``wrk`` (C, one event loop per thread, a Lua
script for the token header and for following cursors) when it is installed: a Python
client in threads spent a good part of the same 2 cores on itself and measured its own
GIL queueing as server latency. Without ``wrk`` the Python client runs, and the JSON line
says ``"client": "python"``.

    python bench/api.py --resources 50000 --findings 5000 --clients 10
    python bench/api.py --reuse   # keep the seeded database of the previous run
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import ROOT, database_url, fresh_database, setup_django

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


def reuse(resources: int) -> tuple[str, list[int]] | None:
    """The seeded tenant of a previous run (a new token for its admin), else None."""
    from django.db.utils import OperationalError, ProgrammingError
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from accounts.services import create_api_token
    from configurations.models import Configuration
    from tenants.models import Tenant

    try:
        tenant = Tenant.objects.filter(slug=SLUG).first()
        user = User.objects.filter(username="bench-admin").first()
    except (OperationalError, ProgrammingError):
        return None
    if tenant is None or user is None:
        return None
    from django.core.management import call_command

    call_command("migrate_schemas", verbosity=0)
    with tenant_context(tenant):
        ids = list(Configuration.objects.values_list("pk", flat=True))
    if len(ids) != resources:
        return None
    return create_api_token(user=user, name="bench")[1], ids


def compose_web() -> tuple[list[str], dict[str, str]]:
    """The ``web`` service of docker-compose.yml: gunicorn's arguments after the bind
    address, and the environment entries that are neither URLs nor secrets."""
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    argv = shlex.split(web["command"]) if isinstance(web["command"], str) else web["command"]
    if argv[0] != "gunicorn":
        raise SystemExit("docker-compose.yml: the web service no longer runs gunicorn")
    args: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in ("--bind", "-b"):
            skip = True
        elif not arg.startswith("--bind="):
            args.append(arg)
    env = {
        key: str(value)
        for key, value in (web.get("environment") or {}).items()
        if "${" not in str(value) and "://" not in str(value)
    }
    return args, env


def server_cpu_seconds(master: int) -> float:
    """CPU seconds (user + system) used so far by gunicorn's master and its workers: the
    server's cost per request, which, unlike latency, the other load on a shared machine
    barely moves (Linux /proc; 0.0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid == master or int(fields[1]) == master:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def get(port: int, path: str, token: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return (time.perf_counter() - started) * 1000, response.status, body


# One wrk script per phase. Each wrk thread has its own Lua state: the list phase follows
# the ``next`` cursor of that thread's last page 80% of the time, else starts a new list.
LUA_COMMON = r"""
local token = "%(token)s"
local base = "%(base)s"
local ids = {}
local headers = {}
init = function(args)
  headers["Authorization"] = "Bearer " .. token
  for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%%x+)") or "0", 16) %% 100000)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.3f, "failed": %%d, "p50_ms": %%.2f, "p95_ms": %%.2f}\n',
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""
LUA_PHASES = {
    "list": r"""
local nextpath = nil
request = function()
  local path
  if nextpath and math.random() < 0.8 then
    path = nextpath
  elseif math.random() < 0.5 then
    path = base .. "/drift/findings/?limit=50&order=severity"
  else
    path = base .. "/configurations/?limit=50"
  end
  return wrk.format("GET", path, headers)
end
response = function(status, hdrs, body)
  local n = status == 200 and body:match('"next":"([^"]*)"') or nil
  nextpath = n and n:gsub("^https?://[^/]+", "") or nil
end
""",
    "detail": r"""
request = function()
  return wrk.format("GET", base .. "/configurations/" .. ids[math.random(#ids)] .. "/", headers)
end
""",
    "history": r"""
request = function()
  return wrk.format(
    "GET", base .. "/configurations/" .. ids[math.random(#ids)] .. "/history/", headers)
end
""",
}


def wrk_phase(
    phase: str, clients: int, seconds: float, port: int, token: str, base: str, ids_file: str
) -> dict:
    """One phase under wrk: requests, failures and latency percentiles (ms)."""
    script = LUA_COMMON % {"token": token, "base": base, "ids": ids_file} + LUA_PHASES[phase]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{min(2, clients)}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}{base}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_phase(
    clients: int, seconds: float, next_path, port: int, token: str
) -> tuple[list[float], int]:
    """Python client: ``clients`` threads request ``next_path(state)`` for ``seconds``;
    latencies (ms) of successful answers and the count of failed ones."""
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


def python_phases(args, base: str, token: str, ids: list[int], server: int) -> dict[str, dict]:
    """The three phases with the Python client (when wrk is not installed)."""

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

    results = {}
    for phase, next_path, seconds in (
        ("list", list_path, args.seconds),
        ("detail", detail_path, args.seconds / 2),
        ("history", history_path, args.seconds / 2),
    ):
        log(f"{phase} phase")
        cpu = server_cpu_seconds(server)
        latencies, failed = run_phase(args.clients, seconds, next_path, args.port, token)
        results[phase] = {
            "requests": len(latencies),
            "seconds": seconds,
            "failed": failed,
            "p50_ms": pct(latencies, 50),
            "p95_ms": pct(latencies, 95),
            "cpu": server_cpu_seconds(server) - cpu,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--findings", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--database", default="bench_api")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the previous run's database if it fits"
    )
    parser.add_argument(
        "--client", choices=["auto", "wrk", "python"], default="auto", help="auto: wrk if found"
    )
    parser.add_argument(
        "--gunicorn", help="gunicorn arguments instead of docker-compose's (to try others)"
    )
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"

    seeded = None
    if args.reuse:
        setup_django(database_url(args.database))
        seeded = reuse(args.resources)
    if seeded is None:
        url = fresh_database(args.database)
        setup_django(url)
        log(f"seeding {args.resources} resources and {args.findings} findings")
        seeded = seed(args.resources, args.findings)
    token, ids = seeded
    gunicorn_args, compose_env = compose_web()
    if args.gunicorn:
        gunicorn_args = shlex.split(args.gunicorn)
    env = {
        **os.environ,
        **compose_env,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "API_THROTTLE_RATE": "10000000/min",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        # Metrics on, as in production, in a directory of this run's own.
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-api-metrics-")
    log(f"gunicorn {' '.join(gunicorn_args)} with {compose_env}; client {client}")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{args.port}",
            *gunicorn_args,
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
        if client == "wrk":
            with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as handle:
                handle.write("\n".join(map(str, ids)) + "\n")
            try:
                results = {}
                for phase, seconds in (
                    ("list", args.seconds),
                    ("detail", args.seconds / 2),
                    ("history", args.seconds / 2),
                ):
                    log(f"{phase} phase")
                    cpu = server_cpu_seconds(server.pid)
                    results[phase] = wrk_phase(
                        phase, args.clients, seconds, args.port, token, base, handle.name
                    )
                    results[phase]["cpu"] = server_cpu_seconds(server.pid) - cpu
            finally:
                os.unlink(handle.name)
        else:
            results = python_phases(args, base, token, ids, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lists = results["list"]
    print(
        json.dumps(
            {
                "bench": "api",
                "resources": args.resources,
                "findings": args.findings,
                "clients": args.clients,
                "client": client,
                "gunicorn": " ".join(gunicorn_args),
                "failed": sum(r["failed"] for r in results.values()),
                "list_rps": round(lists["requests"] / lists["seconds"], 1),
                "list_p50_ms": round(lists["p50_ms"], 1),
                "list_p95_ms": round(lists["p95_ms"], 1),
                "detail_p50_ms": round(results["detail"]["p50_ms"], 1),
                "history_p95_ms": round(results["history"]["p95_ms"], 1),
                # gunicorn CPU per list page (ms): comparable on a loaded machine.
                "list_server_cpu_ms": round(
                    1000 * results["list"]["cpu"] / max(1, lists["requests"]), 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
