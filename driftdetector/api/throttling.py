"""Throttles per API token, else per user, else per client address, in the shared cache.

The key names the tenant schema the request runs in, so the same user (or an id that
repeats in another schema) never shares a bucket across tenants.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from rest_framework.throttling import SimpleRateThrottle


class TenantAwareThrottle(SimpleRateThrottle):
    scope = "api"

    def get_cache_key(self, request: Any, view: Any) -> str:
        schema = getattr(connection, "schema_name", "public")
        token = request.auth
        if token is not None and getattr(token, "pk", None) is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{schema}:{ident}"


class WriteThrottle(TenantAwareThrottle):
    """A tighter bucket for writes (onboarding, actions, settings)."""

    scope = "api_write"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
