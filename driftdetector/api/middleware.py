"""Guards in front of every API path, before routing, sessions or tenant lookup.

A NUL byte anywhere in the path or query is a 400 (PostgreSQL cannot store one, and it
was a 500); an API path without its trailing slash is a 404 for every tenant alike (the
slash redirect of CommonMiddleware answered 301 only for tenants that exist).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from driftdetector.api.problems import is_api_path, problem_response


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or "\x00" in value for key, value in request.GET.items()) or any(
        "\x00" in value for values in request.GET.lists() for value in values[1]
    )


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or is_api_path(request.path):
            if _has_nul(request):
                return problem_response(400, "NUL characters are not allowed in the URL.")
            if not request.path.endswith("/"):
                return problem_response(404, "Not found.")
        return self.get_response(request)
