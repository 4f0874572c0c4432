"""Routes ``/t/<slug>/...`` to a tenant's schema and decides who may enter it.

For a tenant path this middleware: sends anonymous browsers to login (API requests are
left to DRF, whose permission class makes the same decision after token
authentication), answers 404 alike for an unknown slug and for a tenant the user may not
enter (so existence is not revealed), switches the connection to the tenant's schema,
and serves the rest of the path from the tenant urlconf with ``/t/<slug>/`` as the
script prefix, so ``reverse()`` yields tenant URLs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_script_prefix, set_script_prefix
from django.utils.functional import SimpleLazyObject

from accounts.access import can_enter_tenant
from driftdetector.logging import tenant_var
from tenants.selectors import active_tenant_by_slug, public_tenant


def split_tenant_path(path: str) -> tuple[str, str] | None:
    """``/t/acme/api/v1/`` -> (``acme``, ``/api/v1/``); None for paths outside tenants."""
    prefix = f"/{settings.TENANT_PATH_PREFIX}/"
    if not path.startswith(prefix):
        return None
    slug, _, rest = path[len(prefix) :].partition("/")
    if not slug:
        return None
    return slug, "/" + rest


def is_api_path(rest: str) -> bool:
    """Tenant API paths authenticate in DRF (session or token), not here."""
    return rest.startswith("/api/")


class TenantPathMiddleware:
    """Enter the tenant named in the path, or answer 404 / send to login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        parts = split_tenant_path(request.path_info)
        if parts is None:
            request.tenant = SimpleLazyObject(public_tenant)
            return self.get_response(request)
        slug, rest = parts
        api = is_api_path(rest)
        if not api and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = active_tenant_by_slug(slug)
        if (
            tenant is None
            or tenant.is_public
            or (not api and not can_enter_tenant(request.user, tenant))
        ):
            raise Http404("No such tenant.")
        return self._serve_in_tenant(request, tenant, slug, rest)

    def _serve_in_tenant(self, request: HttpRequest, tenant, slug: str, rest: str) -> HttpResponse:
        old_prefix = get_script_prefix()
        request.tenant = tenant
        request.urlconf = settings.TENANT_URLCONF
        request.path_info = rest
        set_script_prefix(f"{old_prefix.rstrip('/')}/{settings.TENANT_PATH_PREFIX}/{slug}/")
        token = tenant_var.set(tenant.slug)
        connection.set_tenant(tenant)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()
            set_script_prefix(old_prefix)
            tenant_var.reset(token)
