"""/healthz, /readyz, the preflight check, JSON logging, docker-compose validity."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.cache import caches

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
def test_json_logs_carry_request_id_and_tenant(
    client_for, customer_a, tenant_a, capsys, monkeypatch
):
    from pythonjsonlogger.json import JsonFormatter

    from driftdetector.logging import RequestContextFilter
    from tenants import views

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(message)s %(request_id)s %(tenant)s"))
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
    assert record == {
        "message": "rendering tenant home",
        "request_id": "req-123",
        "tenant": "tenant-a",
    }


def test_docker_compose_is_valid_and_every_command_exists():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        words = command if isinstance(command, list) else command.split()
        program = words[0]
        assert shutil.which(program, path=str(Path(sys.executable).parent)), (
            f"{name}: {program} not installed"
        )
        if program == "gunicorn":
            module = words[-1].split(":")[0]
            assert (ROOT / (module.replace(".", "/") + ".py")).exists()
        if program == "celery":
            assert words[words.index("-A") + 1] == "driftdetector"
        for dep in services[name].get("depends_on", []):
            assert dep in services
