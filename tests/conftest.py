"""Shared fixtures: two customer tenants onboarded once per session, users, clients, isolation.

The test database is real PostgreSQL (embedded or DATABASE_URL). Tenant schemas are
created once per session (cloned from the template, as in production); tests run in
transactions that roll back, so per-test rows vanish while the tenants stay.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import User
from azuresim.client import SimClient
from azuresim.server import SimServer, start_in_thread
from azuresim.state import SimOptions
from driftdetector.azure import AzureConnection, AzureEndpoints, ClientOptions, connect
from tenants.models import Tenant
from tests.factories import UserFactory

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0


def _redis_db_base() -> int:
    """Redis databases 3.. are the tests': three per xdist worker (broker, cache, sessions)."""
    return 3 + 3 * WORKER_INDEX


def pytest_configure(config: pytest.Config) -> None:
    base = settings.REDIS_URL.rstrip("/")
    broker_db, cache_db, session_db = (_redis_db_base() + i for i in range(3))
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = f"{base}/{broker_db}"
    settings.CACHES["default"]["LOCATION"] = f"{base}/{cache_db}"
    settings.CACHES["sessions"]["LOCATION"] = f"{base}/{session_db}"
    from driftdetector.celery import app

    app.conf.broker_url = app.conf.result_backend = settings.CELERY_BROKER_URL
    for db in (broker_db, cache_db, session_db):
        redis.Redis.from_url(f"{base}/{db}").flushdb()


def database_url_for_subprocess() -> str:
    """DATABASE_URL pointing a child process (Celery worker, manage.py) at the test database."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    port = db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that must see the same database and Redis as the tests."""
    base = settings.REDIS_URL.rstrip("/")
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "REDIS_CACHE_DB": str(_redis_db_base() + 1),
        "REDIS_SESSION_DB": str(_redis_db_base() + 2),
        "REDIS_URL": base,
        "LOG_FORMAT": "plain",
    }
    env.update(extra)
    return env


def start_celery(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    """A real Celery worker or beat against the test database and Redis, in its own session
    (so a test can kill its whole process group); output goes to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "driftdetector", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=subprocess_env(**env),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextlib.contextmanager
def committed_wired_tenant(
    django_db_blocker: Any,
    simulated: dict[str, Any],
    slug: str,
    *,
    page_size: int = 1000,
    polling_settings: dict[str, Any] | None = None,
) -> Iterator[Tenant]:
    """A tenant committed to the test database (a worker must see it) with the simulated
    tenant's app registration, polling paused unless ``polling_settings`` say otherwise;
    dropped with its schema, schedule and credential afterwards."""
    from django_celery_beat.models import PeriodicTask

    from tenants import services

    with django_db_blocker.unblock():
        credential = services.save_azure_credential(
            name=slug, client_id=simulated["client_id"], client_secret=simulated["client_secret"]
        )
        tenant = services.onboard_tenant(
            name=slug,
            slug=slug,
            azure_tenant_id=simulated["tenant_id"],
            actor="tests",
            settings_overrides={
                "polling_settings": polling_settings
                or {"enabled": False, "interval_minutes": 60, "page_size": page_size}
            },
        )
        tenant.azure_credential = credential
        tenant.save(update_fields=["azure_credential"])
    try:
        yield tenant
    finally:
        with django_db_blocker.unblock():
            PeriodicTask.objects.filter(name=services.polling_task_name(tenant)).delete()
            tenant.delete(force_drop=True)
            credential.delete()


def _onboard(slug: str, name: str) -> Tenant:
    from tenants.services import onboard_tenant

    existing = Tenant.objects.filter(slug=slug).first()
    if existing:
        return existing
    return onboard_tenant(name=name, slug=slug, azure_tenant_id=str(uuid.uuid4()), actor="tests")


@pytest.fixture(scope="session")
def session_tenants(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Tenant]:
    """Two customer tenants, onboarded once per session and committed."""
    with django_db_blocker.unblock():
        return {"a": _onboard("tenant-a", "Tenant A"), "b": _onboard("tenant-b", "Tenant B")}


@pytest.fixture
def tenant_a(session_tenants: dict[str, Tenant], db: Any) -> Tenant:
    return Tenant.objects.get(pk=session_tenants["a"].pk)


@pytest.fixture
def tenant_b(session_tenants: dict[str, Tenant], db: Any) -> Tenant:
    return Tenant.objects.get(pk=session_tenants["b"].pk)


@pytest.fixture
def msp_admin(db: Any) -> User:
    return UserFactory(role_name="MSP Admin", is_superuser=True)


@pytest.fixture
def msp_engineer(db: Any) -> User:
    return UserFactory(role_name="MSP Engineer")


@pytest.fixture
def customer_a(tenant_a: Tenant) -> User:
    return UserFactory(tenant=tenant_a, role_name="Customer Viewer")


@pytest.fixture
def customer_b(tenant_b: Tenant) -> User:
    return UserFactory(tenant=tenant_b, role_name="Customer Viewer")


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """A Django test client logged in as the given user."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def assert_isolated(client_for: Callable[[User], Client]) -> Callable[..., None]:
    """Assert a tenant URL serves its owner and gives another tenant's user 403/404, never data.

    ``url_pattern`` contains ``{slug}``; ``owner`` is a user allowed in ``tenant``;
    ``intruder`` is a user of another tenant. ``secrets`` are strings of the tenant's
    data that must not appear in the intruder's response (defaults: name and Azure id).
    """

    def check(
        url_pattern: str,
        *,
        tenant: Tenant,
        owner: User,
        intruder: User,
        method: str = "get",
        data: dict | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        url = url_pattern.format(slug=tenant.slug)
        owner_response = getattr(client_for(owner), method)(url, data=data or {})
        assert owner_response.status_code < 400, (url, owner_response.status_code)
        response = getattr(client_for(intruder), method)(url, data=data or {})
        assert response.status_code in (403, 404), (url, response.status_code)
        body = response.content.decode(errors="replace")
        for secret in (tenant.name, tenant.azure_tenant_id, *secrets):
            assert secret not in body, f"{secret!r} leaked to another tenant at {url}"

    return check


@pytest.fixture
def in_tenant() -> Iterator[Callable[[Tenant], Any]]:
    """Switch the connection into a tenant schema for the rest of the test."""

    def enter(tenant: Tenant) -> None:
        connection.set_tenant(tenant)

    yield enter
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_tenant_cache() -> None:
    """Each test starts with an empty slug cache (tenants.selectors.active_tenant_by_slug):
    a tenant a rolled-back test changed must not be served to the next one."""
    from tenants.selectors import forget_tenants

    forget_tenants()


class StoredResource(NamedTuple):
    """A collected resource, its ``created`` change and the poll run that saw it."""

    configuration: Any
    change: Any
    run: Any


@pytest.fixture
def stored_resource_in() -> Callable[..., StoredResource]:
    """Store one collected resource with its ``created`` change and the poll run that saw
    it in a tenant's schema (the configuration and API tests' common data). ``changed_by``
    goes to the change row, the other keywords to ConfigurationFactory."""
    from tests.factories import ConfigurationFactory, ConfigurationHistoryFactory, PollRunFactory

    def store(
        tenant: Tenant, *, changed_by: str = "alice@contoso.com", **fields: Any
    ) -> StoredResource:
        connection.set_tenant(tenant)
        try:
            run = PollRunFactory()
            config = ConfigurationFactory(**fields)
            change = ConfigurationHistoryFactory(
                configuration=config, changed_by=changed_by, poll_run=run
            )
        finally:
            connection.set_schema_to_public()
        return StoredResource(config, change, run)

    return store


# --- The Azure simulator: one in-process server per session, tenants per test ----------

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    """A simulator on a background thread, unthrottled unless a test says otherwise."""
    # Events queryable at once; the Activity Log lag tests set a lag of their own.
    options = SimOptions(
        throttling="off", subscription_page_size=2, activity_page_size=5, activity_lag=0
    )
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
    """Redis database 15 of the configured server, for limiter tests (keys are prefixed)."""
    return f"{settings.REDIS_URL.rstrip('/')}/15"


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


@pytest.fixture
def azure_tenant(make_tenant, settings, sim):
    """Wire a Django tenant to a fresh simulated Azure tenant with the same Entra tenant id.

    Returns a function ``(tenant, **simulator spec) -> spec``; the tenant gets an
    AzureCredential for the simulator's app and the product's Azure endpoints point at it.
    """
    from tenants.services import save_azure_credential

    settings.AZURE_AUTHORITY_HOST = settings.AZURE_ARM_ENDPOINT = sim.base_url
    settings.AZURE_GRAPH_ENDPOINT = sim.base_url
    settings.AZURE_CA_BUNDLE = str(sim.ca_path)
    settings.AZURE_RETRY_TOTAL = 2
    settings.AZURE_RETRY_BACKOFF = 0.01
    settings.AZURE_READ_TIMEOUT = 3.0
    settings.AZURE_MAX_THROTTLE_WAIT = 10.0

    def wire(tenant: Tenant, **spec: Any) -> dict[str, Any]:
        spec.setdefault("resources", 120)
        spec.setdefault("subscriptions", 2)
        simulated = make_tenant(tenant_id=tenant.azure_tenant_id, **spec)
        tenant.azure_credential = save_azure_credential(
            name=f"app for {tenant.slug} {uuid.uuid4().hex[:6]}",
            client_id=simulated["client_id"],
            client_secret=simulated["client_secret"],
        )
        tenant.save(update_fields=["azure_credential"])
        return simulated

    return wire


@pytest.fixture
def committed_sim_tenant(
    django_db_blocker: Any,
    make_tenant: Callable[..., dict[str, Any]],
    sim: SimServer,
    settings: Any,
) -> Iterator[Callable[..., tuple[Tenant, dict[str, Any]]]]:
    """Make tenants committed to the test database (a worker must see them), each wired to a
    fresh simulated tenant: ``(prefix, resources=, polling_settings=) -> (tenant, spec)``.
    Each is a ``committed_wired_tenant``, removed afterwards."""
    settings.AZURE_AUTHORITY_HOST = settings.AZURE_ARM_ENDPOINT = sim.base_url
    settings.AZURE_GRAPH_ENDPOINT = sim.base_url
    settings.AZURE_CA_BUNDLE = str(sim.ca_path)
    with contextlib.ExitStack() as made:

        def make(
            prefix: str, *, resources: int, polling_settings: dict[str, Any]
        ) -> tuple[Tenant, dict[str, Any]]:
            simulated = make_tenant(
                tenant_id=str(uuid.uuid4()), resources=resources, subscriptions=1
            )
            tenant = made.enter_context(
                committed_wired_tenant(
                    django_db_blocker,
                    simulated,
                    f"{prefix}-{uuid.uuid4().hex[:6]}",
                    polling_settings=polling_settings,
                )
            )
            return tenant, simulated

        yield make


@pytest.fixture
def collect():
    """Run a collection pass of a tenant in its schema; returns the PollRun."""
    from django_tenants.utils import tenant_context

    from configurations.services import PassOptions, run_collection_pass

    def run(tenant: Tenant, **options: Any):
        with tenant_context(tenant):
            return run_collection_pass(tenant, PassOptions(trigger="test", **options))

    return run
