"""The shared Redis token bucket and header pacing, counted rather than timed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from driftdetector.azure import (
    GRAPH_LIMIT,
    ClientOptions,
    Limit,
    LocalLimiter,
    RedisLimiter,
    iter_resource_pages,
)
from driftdetector.azure.limiter import acquire
from driftdetector.azure.policies import parse_hms, request_kind

FROZEN = Limit(capacity=15, rate=1e-6)  # effectively no refill during a test


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {redis_url}")
    prefix = f"test-limiter-{uuid.uuid4().hex}"
    client.prefix = prefix  # type: ignore[attr-defined]
    yield client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_two_redis_limiters_sharing_a_key_grant_at_most_capacity(redis_client):
    limiters = [RedisLimiter(redis_client, prefix=redis_client.prefix) for _ in range(2)]
    grants: list[int] = []
    lock = threading.Lock()

    def hammer(limiter: RedisLimiter) -> None:
        granted = sum(1 for _ in range(20) if limiter.try_acquire("graph:app", FROZEN) == 0)
        with lock:
            grants.append(granted)

    threads = [threading.Thread(target=hammer, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(grants) == 15
    assert limiters[0].try_acquire("graph:other-app", FROZEN) == 0  # keys are independent


def test_refused_acquire_reports_wait_for_next_token(redis_client):
    limiter = RedisLimiter(redis_client, prefix=redis_client.prefix)
    limit = Limit(capacity=1, rate=2.0)
    assert limiter.try_acquire("k", limit) == 0
    wait = limiter.try_acquire("k", limit)
    assert 0 < wait <= 0.5


def test_redis_outage_falls_back_to_local_bucket():
    limiter = RedisLimiter.from_url("redis://127.0.0.1:1/0")
    results = [limiter.try_acquire("k", Limit(capacity=3, rate=1e-6)) for _ in range(4)]
    assert results[:3] == [0, 0, 0] and results[3] > 0


def test_local_limiter_refills_with_its_clock():
    now = [0.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    limit = Limit(capacity=2, rate=1.0)
    assert [limiter.try_acquire("k", limit) for _ in range(3)] == [0, 0, 1.0]
    now[0] += 1.0
    assert limiter.try_acquire("k", limit) == 0


def test_acquire_sleeps_until_granted_and_caps_the_wait():
    now = [0.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    limit = Limit(capacity=1, rate=0.5)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    assert acquire(limiter, "k", limit, max_wait=10, sleep=sleep) == 0
    assert acquire(limiter, "k", limit, max_wait=10, sleep=sleep) == 2.0
    assert slept == [2.0]
    with pytest.raises(TimeoutError):
        acquire(limiter, "k", limit, max_wait=1, sleep=sleep)


def test_policy_takes_tokens_from_the_shared_limiter(redis_client, connect_to, make_tenant):
    tenant = make_tenant(resources=40)
    limiter = RedisLimiter(redis_client, prefix=redis_client.prefix)
    conn = connect_to(tenant, limiter=limiter)
    for _ in range(int(GRAPH_LIMIT.capacity)):  # another worker spent the whole burst
        assert limiter.try_acquire(f"graph:{conn.principal}", GRAPH_LIMIT) == 0
    pages = list(iter_resource_pages(conn, tenant["subscription_ids"]))
    assert pages[-1].batch_complete
    assert conn.stats.throttle_waits >= 1 and conn.stats.throttle_wait_seconds > 0


def test_header_pacing_waits_when_quota_reaches_zero(sim_client, connect_to, make_tenant):
    tenant = make_tenant(resources=170)
    sim_client.set_throttling("headers", tenant_id=tenant["tenant_id"])
    waits: list[float] = []
    conn = connect_to(tenant, options=ClientOptions(sleep=waits.append))
    pages = list(iter_resource_pages(conn, tenant["subscription_ids"], page_size=10))
    assert len(pages) > 15 and pages[-1].batch_complete
    assert waits and all(0 < w <= 5 for w in waits)
    assert conn.stats.throttle_waits == len(waits)


def test_helpers():
    assert parse_hms("00:01:05") == 65 and parse_hms("2.5") == 2.5
    assert parse_hms(None) is None and parse_hms("soon") is None
    assert request_kind("https://x/providers/Microsoft.ResourceGraph/resources") == "graph"
    assert request_kind("https://x/subscriptions") == "arm"


def test_buckets_are_per_service_principal_in_each_tenant(redis_client, connect_to, make_tenant):
    """Two customer tenants polled through one app registration draw from different buckets."""
    first, second = make_tenant(resources=10), make_tenant(resources=10)
    limiter = RedisLimiter(redis_client, prefix=redis_client.prefix)
    a, b = connect_to(first, limiter=limiter), connect_to(second, limiter=limiter)
    assert a.principal != b.principal
    for _ in range(int(GRAPH_LIMIT.capacity)):
        assert limiter.try_acquire(f"graph:{a.principal}", GRAPH_LIMIT) == 0
    assert limiter.try_acquire(f"graph:{b.principal}", GRAPH_LIMIT) == 0


def test_a_sliding_window_grants_capacity_per_window_across_limiters(redis_client):
    window = Limit(capacity=5, rate=0.5, window=10.0)
    limiters = [RedisLimiter(redis_client, prefix=redis_client.prefix) for _ in range(3)]
    waits = [lim.try_acquire("reports:tenant", window) for lim in limiters for _ in range(4)]
    assert waits.count(0.0) == 5, "five in the window, whichever worker asks"
    assert all(9.0 < w <= 10.0 for w in waits if w), "the wait ends when the oldest leaves"


def test_the_local_sliding_window_frees_a_slot_when_the_oldest_request_leaves():
    clock = [100.0]
    limiter = LocalLimiter(clock=lambda: clock[0])
    window = Limit(capacity=5, rate=0.5, window=10.0)
    for step in range(5):
        clock[0] = 100.0 + step
        assert limiter.try_acquire("k", window) == 0
    clock[0] = 105.0
    assert limiter.try_acquire("k", window) == pytest.approx(5.0)
    clock[0] = 110.01
    assert limiter.try_acquire("k", window) == 0, "the request at 100 has left the window"
    assert limiter.try_acquire("k", window) > 0
