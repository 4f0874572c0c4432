"""Audit trail in the admin: sign-ins and events per tenant (read-only, filtered, searchable),
the MSP's own events, and the ELK forwarder's state and parked documents."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from auditlog.fleet.models import AuditCollector, ForwarderState, OutboxEntry
from auditlog.models import SigningLog
from driftdetector.admin_site import tenant_admin_site


class SinceFilter(admin.SimpleListFilter):
    """Time range: the last hour, day, week or month."""

    title = "time"
    parameter_name = "since"
    RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "last hour"), ("24h", "last 24 hours"), ("7d", "last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        span = self.RANGES.get(self.value() or "")
        return queryset.filter(timestamp__gte=timezone.now() - span) if span else queryset


class RiskFilter(admin.SimpleListFilter):
    """Sign-ins Graph rated medium or high risk."""

    title = "risk"
    parameter_name = "risky"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "risky (medium or high)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(log_data__risky=True)
        return queryset


class _ValueFilter(admin.SimpleListFilter):
    """A column filter offering the most frequent values of the last 7 days; any value
    given in the URL filters too (``?user=alice@contoso.example``)."""

    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from django.db.models import Count

        since = timezone.now() - timedelta(days=7)
        rows = SigningLog.objects.filter(timestamp__gte=since).exclude(
            **{f"{self.field}__isnull": True}
        )
        if self.field != "client_ip":
            rows = rows.exclude(**{self.field: ""})
        rows = rows.values_list(self.field).annotate(n=Count("id")).order_by("-n")[:15]
        return [(str(value), str(value)) for value, _ in rows]

    def has_output(self) -> bool:
        return True  # a value given in the URL filters even when it is not a frequent one

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if self.field == "client_ip":
            import ipaddress

            try:
                value = str(ipaddress.ip_address(value))
            except ValueError:
                return queryset.none()
        return queryset.filter(**{self.field: value})


class UserFilter(_ValueFilter):
    title = "user"
    parameter_name = "user"
    field = "actor"


class AppFilter(_ValueFilter):
    title = "app"
    parameter_name = "app"
    field = "resource"


class IpFilter(_ValueFilter):
    title = "IP address"
    parameter_name = "ip"
    field = "client_ip"


class SigningLogAdmin(admin.ModelAdmin):
    """Read-only: an audit record is never edited or deleted by hand (retention purges)."""

    list_display = ["timestamp", "source", "actor", "action", "resource", "status", "client_ip"]
    list_filter = ["source", "status", SinceFilter, RiskFilter, UserFilter, AppFilter, IpFilter]
    search_fields = ["actor", "action", "resource", "=log_id"]
    date_hierarchy = "timestamp"
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [
        "timestamp",
        "source",
        "log_id",
        "actor",
        "action",
        "resource",
        "status",
        "client_ip",
        "ingested_at",
        "details",
    ]
    exclude = ["log_data"]

    @admin.display(description="details")
    def details(self, obj: SigningLog) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.log_data, indent=2, default=str))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


tenant_admin_site.register(SigningLog, SigningLogAdmin)
admin.site.register(SigningLog, SigningLogAdmin)


@admin.register(AuditCollector)
class AuditCollectorAdmin(admin.ModelAdmin):
    """Per tenant: how far its Graph audit logs were read and what went wrong."""

    list_display = [
        "tenant",
        "last_run_at",
        "signins_since",
        "audits_since",
        "signins_unavailable",
        "rows_written",
        "last_error",
        "gap_warning",
    ]
    readonly_fields = [f.name for f in AuditCollector._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ForwarderState)
class ForwarderStateAdmin(admin.ModelAdmin):
    """The ELK forwarder: backlog, parked, last shipped, last error."""

    list_display = [
        "__str__",
        "enabled",
        "backlog",
        "parked",
        "last_shipped_at",
        "lag_seconds",
        "shipped_total",
        "already_there_total",
        "last_error_at",
        "last_error",
    ]
    readonly_fields = [f.name for f in ForwarderState._meta.fields]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        ForwarderState.objects.get_or_create(pk=1)
        return super().changelist_view(request, extra_context)

    @admin.display(description="ELK_URL set", boolean=True)
    def enabled(self, obj: ForwarderState) -> bool:
        from django.conf import settings

        return bool(settings.ELK_URL)

    @admin.display(description="backlog")
    def backlog(self, obj: ForwarderState) -> int:
        return OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING).count()

    @admin.display(description="parked")
    def parked(self, obj: ForwarderState) -> int:
        return OutboxEntry.objects.filter(state=OutboxEntry.State.PARKED).count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    """Documents waiting for or refused by Elasticsearch; parked ones can be sent again."""

    list_display = ["doc_id", "tenant", "state", "attempts", "created_at", "last_error"]
    list_filter = ["state", "tenant"]
    search_fields = ["=doc_id"]
    readonly_fields = [f.name for f in OutboxEntry._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send the selected parked documents again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboxEntry]) -> None:
        from auditlog.forwarder import requeue_parked

        count = requeue_parked(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} document(s) queued again.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
