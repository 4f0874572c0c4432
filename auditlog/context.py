"""Who is acting: set per request by :class:`AuditContextMiddleware`, per command by
:func:`acting_as`; read by ``auditlog.services.record_change`` so services need no request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Actor:
    """The author of a change: user name, how they came in, their address."""

    name: str
    via: str  # "admin", "api", "web", "command", "system"
    client_ip: str | None = None


SYSTEM = Actor(name="system", via="system")
actor_var: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    """The actor of the current request or command (``system`` outside both)."""
    return actor_var.get()


@contextmanager
def acting_as(name: str, *, via: str = "command", client_ip: str | None = None) -> Iterator[Actor]:
    """Attribute the changes made inside the block to ``name`` (management commands, tasks)."""
    actor = Actor(name=name, via=via, client_ip=client_ip)
    token = actor_var.set(actor)
    try:
        yield actor
    finally:
        actor_var.reset(token)


def _via(request: HttpRequest) -> str:
    path = request.path
    if "/api/" in path:
        return "api"
    if "/admin/" in path:
        return "admin"
    return "web"


class AuditContextMiddleware:
    """Sets the acting user for the request (after authentication; token auth of DRF runs in
    the view, so :func:`current_actor` falls back to ``request.user`` when DRF set it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = user.get_username() if user is not None and user.is_authenticated else "(anonymous)"
        actor = Actor(name=name, via=_via(request), client_ip=request.META.get("REMOTE_ADDR"))
        token = actor_var.set(actor)
        try:
            return self.get_response(request)
        finally:
            actor_var.reset(token)


def set_request_user(name: str) -> None:
    """Refine the acting user once DRF authenticated the request (token or session)."""
    actor = actor_var.get()
    if actor.name != name:
        actor_var.set(Actor(name=name, via=actor.via, client_ip=actor.client_ip))
