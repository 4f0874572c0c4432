"""django-tenants' PostgreSQL backend, minus the ``SET search_path`` a kept connection
does not need.

django-tenants forgets the applied search path on every ``set_tenant`` (the tenant
middleware calls it on every request), so with ``CONN_MAX_AGE`` the first cursor of every
request sends ``SET search_path`` again, usually the very path the connection already
has: one wasted round trip per request. This wrapper remembers the path it last applied
successfully on the current raw connection and skips the statement when the path to
apply is the same.

PostgreSQL keeps a session-level ``SET`` past ``COMMIT`` but undoes it on ``ROLLBACK`` and
on ``ROLLBACK TO SAVEPOINT`` (when it ran after the savepoint), and a new connection starts
from the server default. So the remembered path is forgotten, and the next cursor sends
``SET`` again, on a transaction or savepoint rollback, a ``SET`` that raised, and whenever
the raw connection is not the one it was applied on (after ``close()`` or a reconnect).
"""

from __future__ import annotations

from typing import Any

from django.utils.asyncio import async_unsafe
from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import get_limit_set_calls


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    """django-tenants' wrapper that sends ``SET search_path`` only when the raw connection's
    path differs from the one to apply.

    Skipping applies with ``TENANT_LIMIT_SET_CALLS`` only: without it django-tenants sets
    the path before every cursor on purpose (e.g. for code that changes it with raw SQL),
    and that is kept. The path itself (tenant, public, ``PG_EXTRA_SEARCH_PATHS``) is still
    computed and validated by django-tenants.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before super().__init__, which already selects the public schema.
        #: The search path the last successful ``SET`` applied, or None when unknown.
        self._applied_search_path: list[str] | None = None
        #: The raw connection it was applied on (compared by identity, never used).
        self._applied_search_path_on: Any = None
        super().__init__(*args, **kwargs)

    def _forget_search_path(self) -> None:
        """Make the next cursor send ``SET search_path``: the server's path is unknown."""
        self._applied_search_path = None
        self._applied_search_path_on = None
        self.search_path_set_schemas = None

    @async_unsafe
    def rollback(self) -> None:
        """Roll back the transaction, which also undoes a ``SET`` it issued."""
        try:
            super().rollback()
        finally:
            self._forget_search_path()

    @async_unsafe
    def savepoint_rollback(self, sid: str) -> None:
        """Roll back to a savepoint, which undoes a ``SET`` issued after it.

        Forgotten after the rollback, not before: the rollback's own cursor would otherwise
        send a ``SET`` the rollback then discards. Forgotten even if it fails.
        """
        try:
            super().savepoint_rollback(sid)
        finally:
            self._forget_search_path()

    def _handle_search_path(self, cursor: Any = None) -> None:
        """Send ``SET search_path`` for the selected schema unless the raw connection
        already has exactly that path; remember what a successful ``SET`` applied."""
        if self._setting_search_path:
            # Re-entered while getting a cursor for the SET: django-tenants does nothing.
            return
        if self.connection is not self._applied_search_path_on:
            # A new raw connection (after close() or a reconnect) starts from the server's
            # default path; the old one is kept referenced, so identity cannot be reused.
            self._forget_search_path()
        if get_limit_set_calls():
            if self.search_path_set_schemas:
                # Applied on this connection since the last set_tenant: django-tenants
                # skips too.
                return
            if self._applied_search_path is not None and self.schema_name:
                search_paths = self._get_cursor_search_paths()
                if search_paths == self._applied_search_path:
                    # What django-tenants records after its own SET, so later cursors
                    # skip even this comparison until the next set_tenant.
                    self.search_path_set_schemas = search_paths
                    return
        try:
            super()._handle_search_path(cursor)
        except BaseException:
            self._forget_search_path()
            raise
        applied = self.search_path_set_schemas
        if applied is None:
            # django-tenants swallows a failed SET (the transaction is being rolled back
            # anyway) and leaves the path unset; the server's path is unknown.
            self._forget_search_path()
        else:
            self._applied_search_path = list(applied)
            self._applied_search_path_on = self.connection
