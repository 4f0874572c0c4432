"""Fixtures shared by the simulator and Azure-access tests: one in-process simulator per
session, a control client, and per-test tenants that are removed afterwards."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azuresim.client import SimClient
from azuresim.server import SimServer, start_in_thread
from azuresim.state import SimOptions

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    """A simulator on a background thread, unthrottled unless a test says otherwise."""
    options = SimOptions(throttling="off", subscription_page_size=2, activity_page_size=5)
    server = start_in_thread(state_dir=tmp_path_factory.mktemp("azuresim"), options=options)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sim_client(sim: SimServer) -> SimClient:
    """Control-interface client for the session simulator."""
    return SimClient.from_server(sim)


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim_client" in request.fixturenames:
        request.getfixturevalue("sim_client").clear_faults()


@pytest.fixture
def make_tenant(sim_client: SimClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Register a fresh tenant (unique ids, known secret); removed after the test."""
    created: list[str] = []

    def make(**spec: Any) -> dict[str, Any]:
        n = next(_counter)
        spec.setdefault("name", f"Tenant{n}")
        spec.setdefault("tenant_id", str(uuid.uuid4()))
        spec.setdefault("client_id", str(uuid.uuid4()))
        spec.setdefault("client_secret", f"secret-{n}")
        spec.setdefault("subscriptions", 2)
        spec.setdefault("resources", 60)
        spec.setdefault("seed", n)
        tenant = sim_client.register_tenant(**spec)
        tenant["client_secret"] = spec["client_secret"]
        created.append(tenant["tenant_id"])
        return tenant

    yield make
    for tenant_id in created:
        sim_client.remove_tenant(tenant_id)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for limiter tests: REDIS_URL if set, else the local server, db 15."""
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    if base.rsplit("/", 1)[-1].isdigit():
        base = base.rsplit("/", 1)[0]
    return f"{base}/15"
