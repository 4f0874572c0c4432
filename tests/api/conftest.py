"""Fixtures of the API tests: one object of each kind in tenant A, and token clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import create_api_token
from auditlog.models import SigningLog
from drift.models import Baseline, DriftException, DriftReport
from tenants.models import Tenant
from tests.factories import DriftFindingFactory

RESOURCE = "/subscriptions/aaaa/resourcegroups/rg-api/providers/microsoft.keyvault/vaults/kv-api"


@pytest.fixture
def api_objects(
    tenant_a: Tenant, stored_resource_in: Callable[..., Any]
) -> Iterator[dict[str, Any]]:
    """One resource (with history and a poll run), report, finding, baseline and exception
    in tenant A's schema; their ids by name."""
    stored = stored_resource_in(
        tenant_a, group="rg-api", name="kv-api", changed_by='=HYPERLINK("http://evil")'
    )
    config, run = stored.configuration, stored.run
    assert config.resource_id == RESOURCE
    connection.set_tenant(tenant_a)
    now = timezone.now()
    report = DriftReport.objects.create(started_at=now, finished_at=now, by_severity={"high": 1})
    finding = DriftFindingFactory(
        resource_id=RESOURCE,
        resource_type="microsoft.keyvault/vaults",
        path="properties.enablePurgeProtection",
        baseline_value=True,
        current_value=False,
        severity="high",
        changed_by="=cmd|' /C calc'!A0",
        last_report=report,
    )
    baseline = Baseline.objects.create(name="approved", created_by="tests")
    exception = DriftException.objects.create(
        resource_pattern="*",
        path_pattern="tags.*",
        accepted_value=None,
        reason="tags move",
        approved_by="tests",
        expires_at=now + timedelta(days=3),
    )
    event = SigningLog.objects.create(
        source=SigningLog.Source.PLATFORM,
        log_id="api-event-1",
        timestamp=now,
        actor="tests",
        action="settings.changed",
        status="success",
    )
    sign_in = SigningLog.objects.create(
        source=SigningLog.Source.AZURE_SIGNIN,
        log_id="api-sign-in-1",
        timestamp=now,
        actor="kim@contoso.example",
        action="sign-in",
        status="failure",
        client_ip="203.0.113.7",
    )
    connection.set_schema_to_public()
    yield {
        "configuration": config.pk,
        "poll_run": run.pk,
        "report": report.pk,
        "finding": finding.pk,
        "baseline": baseline.pk,
        "exception": exception.pk,
        "audit_event": event.pk,
        "sign_in": sign_in.pk,
    }
    connection.set_schema_to_public()


@pytest.fixture
def token_client() -> Callable[..., Client]:
    """A client that authenticates with a new API token of ``user``."""

    def make(user: User, *, read_only: bool = False) -> Client:
        _, clear = create_api_token(user=user, name="api tests", read_only=read_only)
        return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")

    return make


@pytest.fixture(autouse=True)
def _wsgi_calls_keep_the_test_connection() -> Iterator[None]:
    """Requests made straight through the WSGI app (werkzeug, schemathesis) would close the
    test's database connection at request end, as Django's test client prevents (that
    client reconnects the handler after each of its requests, hence once per test)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def committed_msp_token(django_db_setup, django_db_blocker):
    """An MSP admin's API token committed to the database (other threads and processes
    see it); removed afterwards."""
    from accounts.services import create_api_token
    from tests.factories import UserFactory

    with django_db_blocker.unblock():
        user = UserFactory(role_name="MSP Admin", is_superuser=True)
        _, clear = create_api_token(user=user, name="committed")
    yield clear
    with django_db_blocker.unblock():
        user.delete()
