"""Simulator fixtures (see tests/azuresim/support.py)."""

from tests.azuresim.support import _no_leftover_faults, make_tenant, redis_url, sim, sim_client

__all__ = ["_no_leftover_faults", "make_tenant", "redis_url", "sim", "sim_client"]
