"""Fixtures for the Azure access layer: the session simulator plus ready-made connections."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azuresim.server import SimServer
from driftdetector.azure import AzureConnection, AzureEndpoints, ClientOptions, connect
from tests.azuresim.support import _no_leftover_faults, make_tenant, redis_url, sim, sim_client

__all__ = ["_no_leftover_faults", "make_tenant", "redis_url", "sim", "sim_client"]

FAST = ClientOptions(
    retry_total=2,
    retry_backoff_factor=0.01,
    retry_backoff_max=0.05,
    max_throttle_retries=2,
    max_throttle_wait=10.0,
    connection_timeout=5.0,
    read_timeout=5.0,
)


@pytest.fixture(scope="session")
def endpoints(sim: SimServer) -> AzureEndpoints:
    """Every endpoint pointed at the simulator, trusting its CA."""
    return AzureEndpoints(
        authority_host=sim.base_url,
        arm_endpoint=sim.base_url,
        graph_endpoint=sim.base_url,
        ca_bundle=str(sim.ca_path),
    )


@pytest.fixture
def connect_to(endpoints: AzureEndpoints) -> Iterator[Callable[..., AzureConnection]]:
    """Open connections to simulated tenants with fast retry settings; closed afterwards."""
    opened: list[AzureConnection] = []

    def make(tenant: dict[str, Any], **kwargs: Any) -> AzureConnection:
        kwargs.setdefault("client_secret", tenant["client_secret"])
        kwargs.setdefault("options", FAST)
        conn = connect(tenant["tenant_id"], tenant["client_id"], endpoints, **kwargs)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()
