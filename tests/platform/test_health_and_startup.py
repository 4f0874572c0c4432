"""/healthz, /readyz, the preflight check, JSON logging, docker-compose validity."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.cache import caches
from django.utils import timezone

from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_and_readyz_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_redis_down_readyz_503_names_redis_and_sessionless_pages_still_serve(client, settings):
    dead = f"redis://127.0.0.1:{closed_port()}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": f"{dead}/1"},
        "sessions": {**settings.CACHES["sessions"], "LOCATION": f"{dead}/2"},
    }
    settings.CELERY_BROKER_URL = f"{dead}/0"
    caches._settings = caches.settings = settings.CACHES
    for alias in ("default", "sessions"):
        caches.__dict__.pop(alias, None)

    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis", "broker"]
    assert body["checks"]["database"] == "ok"
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 200


def test_preflight_exits_non_zero_naming_the_database_when_it_is_down():
    env = subprocess_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/nothing")
    result = subprocess.run(
        [sys.executable, "manage.py", "preflight"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "database: error" in result.stdout
    assert "preflight failed: database unreachable" in result.stderr


@pytest.mark.django_db
def test_json_logs_carry_request_id_and_tenant_under_ecs_names(
    client_for, customer_a, tenant_a, capsys, monkeypatch
):
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from driftdetector.logging import RequestContextFilter
    from tenants import views

    configured = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(**configured))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("tests.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    original = views.current_settings

    def logging_selector(tenant):
        logger.info("rendering tenant home")
        return original(tenant)

    monkeypatch.setattr(views, "current_settings", logging_selector)
    try:
        response = client_for(customer_a).get(f"/t/{tenant_a.slug}/", HTTP_X_REQUEST_ID="req-123")
    finally:
        logger.removeHandler(handler)
    assert response["X-Request-ID"] == "req-123"
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    timestamp = record.pop("@timestamp")
    assert timestamp.startswith(str(timezone.now().year)) and timestamp.endswith("+00:00")
    assert record.pop("process.pid") == os.getpid()
    assert record == {
        "message": "rendering tenant home",
        "log.level": "INFO",
        "log.logger": "tests.request",
        "trace.id": "req-123",
        "labels.tenant": "tenant-a",
        "ecs.version": "8.11.0",
        "service.name": "azure-drift-detector",
    }


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _words(command: str | list[str]) -> list[str]:
    return command if isinstance(command, list) else command.split()


def _bind_mounts(service: dict) -> dict[str, Path]:
    """Container path -> repository path of each ``./...`` volume."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def test_docker_compose_is_valid_and_every_command_exists():
    from django.conf import settings

    compose = _compose()
    services = compose["services"]
    assert {"web", "beat", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    assert {"elasticsearch", "kibana", "filebeat", "mailcatcher", "migrate"} <= set(services)
    app_services = [name for name, s in services.items() if s.get("build") == "."]
    assert {"web", "beat", "migrate", "worker-poll", "worker-notify"} <= set(app_services)
    consumed: set[str] = set()
    for name in app_services:
        words = _words(services[name]["command"])
        program = words[0]
        assert shutil.which(program, path=str(Path(sys.executable).parent)), (
            f"{name}: {program} not installed"
        )
        if program == "gunicorn":
            module = words[-1].split(":")[0]
            assert (ROOT / (module.replace(".", "/") + ".py")).exists()
            assert (ROOT / words[words.index("-c") + 1]).is_file(), "gunicorn config missing"
        if program == "celery":
            assert words[words.index("-A") + 1] == "driftdetector"
            if "-Q" in words:
                consumed.update(words[words.index("-Q") + 1].split(","))
        if program == "python":
            assert (ROOT / words[1]).is_file()
            assert words[2] in _manage_commands(), f"{name}: no manage.py {words[2]}"
        for dep in services[name].get("depends_on", []):
            assert dep in services
    assert consumed == {q.name for q in settings.CELERY_TASK_QUEUES}, "every queue has a worker"
    for name, service in services.items():
        for dep in service.get("depends_on", []):
            assert dep in services and dep != name, f"{name} depends on {dep}"
        for container_path, path in _bind_mounts(service).items():
            assert path.exists(), f"{name}: {path} (mounted at {container_path}) missing"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    assert (
        "redis-server" in services["redis"]["command"]
        and "--appendonly" in (services["redis"]["command"])
    )


def _manage_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


def test_prometheus_config_scrapes_compose_services_and_loads_the_rules():
    compose = _compose()
    services = compose["services"]
    prometheus = services["prometheus"]
    mounts = _bind_mounts(prometheus)
    config_path = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config = yaml.safe_load(mounts[config_path.split("=", 1)[1]].read_text())
    rule_files = []
    for pattern in config["rule_files"]:
        directory, glob = pattern.rsplit("/", 1)
        rule_files += list(mounts[directory].glob(glob))
    assert rule_files, "the rule_files glob matches a mounted rules file"
    for rules in rule_files:
        groups = yaml.safe_load(rules.read_text())["groups"]
        assert all(rule["alert"] and rule["expr"] for g in groups for rule in g["rules"])
    for job in config["scrape_configs"]:
        auth = job.get("authorization")
        if auth:
            secret = auth["credentials_file"].removeprefix("/run/secrets/")
            assert secret in prometheus["secrets"] and secret in compose["secrets"]
        for target in (t for c in job["static_configs"] for t in c["targets"]):
            host, port = target.split(":")
            assert host in services, f"{job['job_name']}: no service {host}"
            env = services[host].get("environment", {})
            if host != "web":
                assert env.get("CELERY_METRICS_PORT") == port, f"{host} serves no metrics on {port}"
    assert services["web"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN")
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}


def test_grafana_provisioning_points_at_the_dashboard_and_the_prometheus_source():
    grafana = _compose()["services"]["grafana"]
    mounts = _bind_mounts(grafana)
    provisioning = mounts["/etc/grafana/provisioning"]
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    source_uids = {s["uid"] for s in sources["datasources"]}
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "driftdetector.yml").read_text())
    for provider in providers["providers"]:
        dashboards = list(mounts[provider["options"]["path"]].glob("*.json"))
        assert dashboards
        for path in dashboards:
            dashboard = json.loads(path.read_text())
            assert dashboard["uid"] == "driftdetector-overview"
            for panel in dashboard["panels"]:
                if panel["type"] != "row":
                    assert panel["datasource"]["uid"] in source_uids
                    assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    filebeat = _bind_mounts(_compose()["services"]["filebeat"])
    config = yaml.safe_load(filebeat["/usr/share/filebeat/filebeat.yml"].read_text())
    assert config["output.elasticsearch"]["index"].startswith("driftdetector-logs-")
