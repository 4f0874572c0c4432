"""Pagination: limit/offset with an enforced maximum, and cursors for the big lists.

``limit`` and ``offset`` that are not integers in range are a 400 (a 20-digit limit used
to reach PostgreSQL and fail there). Cursor pages order on a unique indexed key, so page
N costs the same as page 1 on a table of any size.
"""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000


def _bounded_int(request: Any, name: str, *, default: int | None, upper: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) > upper:
        raise ValidationError({name: [f"Give a whole number from 0 to {upper}."]})
    return int(raw)


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request: Any) -> int | None:
        limit = _bounded_int(
            request, self.limit_query_param, default=self.default_limit, upper=self.max_limit
        )
        return limit or self.default_limit

    def get_offset(self, request: Any) -> int:
        return _bounded_int(request, self.offset_query_param, default=0, upper=MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            bound = self.max_limit if param["name"] == self.limit_query_param else MAX_OFFSET
            param["schema"].update({"minimum": 0, "maximum": bound})
        return params


class CursorPagination(pagination.CursorPagination):
    """Newest first by id, the primary key (unique and indexed); ``?limit=`` up to the maximum."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        return _bounded_int(request, "limit", default=self.page_size, upper=self.max_page_size) or (
            self.page_size
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == "limit":
                param["schema"].update({"minimum": 0, "maximum": self.max_page_size})
        return params
