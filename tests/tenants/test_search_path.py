"""driftdetector.dbbackend: a kept connection sends ``SET search_path`` only when its path
changes, and sends it again whenever the server may no longer have the path it remembers
(rollback, savepoint rollback, a failed SET, close, reconnect).

Most tests use a second connection to the test database, outside the test's transaction,
so that it can roll back and reconnect like a worker's kept connection; the schema a
query really runs in is read back with ``current_schema()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import create_api_token
from driftdetector.dbbackend.base import DatabaseWrapper
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept() -> Iterator[DatabaseWrapper]:
    """A connection of its own to the test database (autocommit, like a request's);
    closed afterwards."""
    wrapper = DatabaseWrapper(connection.settings_dict.copy(), alias=connection.alias)
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def current_schema(conn: Any) -> str:
    """The schema an unqualified table name resolves to on ``conn`` now."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def sets(captured: CaptureQueriesContext) -> list[str]:
    """The ``SET search_path`` statements among the captured ones."""
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]


def test_the_same_tenant_twice_on_a_kept_connection_sends_set_once(kept, tenant_a):
    with CaptureQueriesContext(kept) as captured:
        for _ in range(2):
            kept.set_tenant(tenant_a)
            assert current_schema(kept) == tenant_a.schema_name
    assert sets(captured) == [f'SET search_path = "{tenant_a.schema_name}","public"']


def test_switching_tenant_sends_set_each_time(kept, tenant_a, tenant_b):
    with CaptureQueriesContext(kept) as captured:
        for tenant in (tenant_a, tenant_b, tenant_a):
            kept.set_tenant(tenant)
            assert current_schema(kept) == tenant.schema_name
    assert len(sets(captured)) == 3


def test_the_whole_path_is_compared_not_only_the_tenant(kept, tenant_a):
    kept.set_tenant(tenant_a)
    current_schema(kept)
    with CaptureQueriesContext(kept) as captured:
        kept.set_tenant(tenant_a, include_public=False)
        current_schema(kept)
        kept.set_schema_to_public()
        assert current_schema(kept) == "public"
    assert sets(captured) == [
        f'SET search_path = "{tenant_a.schema_name}"',
        'SET search_path = "public"',
    ]


def test_without_limit_set_calls_every_cursor_still_sends_set(kept, tenant_a, settings):
    settings.TENANT_LIMIT_SET_CALLS = False
    kept.set_tenant(tenant_a)
    with CaptureQueriesContext(kept) as captured:
        current_schema(kept)
        current_schema(kept)
    assert len(sets(captured)) == 2


def test_after_a_rollback_the_next_query_sets_the_path_again(kept, tenant_a):
    kept.set_autocommit(False)
    kept.set_tenant(tenant_a)
    assert current_schema(kept) == tenant_a.schema_name  # its SET is in this transaction
    kept.rollback()  # ... and undone by the server
    with CaptureQueriesContext(kept) as captured:
        assert current_schema(kept) == tenant_a.schema_name
    assert len(sets(captured)) == 1
    kept.rollback()
    kept.set_autocommit(True)


def test_after_a_rolled_back_savepoint_that_switched_tenant_the_path_is_set_again(
    tenant_a, tenant_b, in_tenant
):
    """The real atomic() path on the test's own connection: ROLLBACK TO SAVEPOINT undoes
    the inner block's SET to tenant B, while tenant B stays the selected one."""
    in_tenant(tenant_a)
    assert current_schema(connection) == tenant_a.schema_name
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(RuntimeError), transaction.atomic():
            in_tenant(tenant_b)
            assert current_schema(connection) == tenant_b.schema_name
            raise RuntimeError("roll the savepoint back")
        assert current_schema(connection) == tenant_b.schema_name
        assert Tenant.objects.filter(pk=tenant_b.pk).exists()  # public stays on the path
    path_b = f'SET search_path = "{tenant_b.schema_name}","public"'
    assert sets(captured) == [path_b, path_b]


def test_after_close_the_next_connection_gets_the_path(kept, tenant_a):
    kept.set_tenant(tenant_a)
    current_schema(kept)
    kept.close()
    with CaptureQueriesContext(kept) as captured:
        assert current_schema(kept) == tenant_a.schema_name
    assert len(sets(captured)) == 1


def test_a_replaced_raw_connection_gets_the_path(kept, tenant_a):
    kept.set_tenant(tenant_a)
    current_schema(kept)
    old = kept.connection
    kept.connect()
    old.close()
    with CaptureQueriesContext(kept) as captured:
        assert current_schema(kept) == tenant_a.schema_name
    assert len(sets(captured)) == 1


def reject_set(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
    """Execute wrapper: the server rejects the SET (a syntax error, which django-tenants
    swallows)."""
    return execute(f"{sql} !" if sql.startswith("SET search_path") else sql, *args)


def lose_reply(error: Exception) -> Callable[..., Any]:
    """Execute wrapper: the server applies the SET, yet it raises ``error`` (say, its reply
    was lost to a timeout)."""

    def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if sql.startswith("SET search_path"):
            raise error
        return result

    return wrapper


@pytest.mark.parametrize(
    ("wrapper", "runs_in"),
    [
        (reject_set, "old"),  # swallowed by django-tenants: the query runs in the old path
        (lose_reply(OperationalError("reply lost")), "new"),  # swallowed, but it was applied
        (lose_reply(RuntimeError("interrupted")), None),  # raised to the caller
    ],
    ids=["rejected", "database-error-after-applying", "other-error-after-applying"],
)
def test_a_failed_set_is_not_remembered(kept, tenant_a, tenant_b, wrapper, runs_in):
    """After a SET that raised, the server's path is unknown: neither the path tried nor
    the one before is trusted, so the next switch to either sends SET."""
    kept.set_tenant(tenant_a)
    current_schema(kept)
    kept.set_tenant(tenant_b)
    with kept.execute_wrapper(wrapper):
        if runs_in is None:
            with pytest.raises(RuntimeError):
                current_schema(kept)
        else:
            expected = tenant_a if runs_in == "old" else tenant_b
            assert current_schema(kept) == expected.schema_name
    with CaptureQueriesContext(kept) as captured:
        for tenant in (tenant_a, tenant_b):
            kept.set_tenant(tenant)
            assert current_schema(kept) == tenant.schema_name
    assert len(sets(captured)) == 2


def test_an_api_request_after_one_to_the_same_tenant_sends_no_set(tenant_a, msp_engineer):
    _, clear = create_api_token(user=msp_engineer, name="search path")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    url = f"/t/{tenant_a.slug}/api/v1/configurations/"
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    assert captured.captured_queries
    assert sets(captured) == []
