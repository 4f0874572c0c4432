"""Tenant admin for notifications: channels (write-only URL and secret, "Send test"),
rules, deliveries with their attempts ("Resend"), snoozes. Writes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from driftdetector.admin_site import tenant_admin_site
from notifications import services
from notifications.choices import ChannelKind, Event, Mode
from notifications.models import (
    SEVERITY_CHOICES,
    Channel,
    Delivery,
    DeliveryAttempt,
    NotificationRule,
    Snooze,
)


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


class ChannelForm(forms.ModelForm):
    """URL and secret are write-only: never rendered back, blank keeps the stored value."""

    addresses_text = forms.CharField(
        label="Email addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="comma or newline separated (email channels)",
    )
    new_url = forms.CharField(
        label="URL",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Slack / Teams Workflows / webhook URL; stored encrypted, never shown. "
        "Leave blank to keep the current one.",
    )
    new_secret = forms.CharField(
        label="Signing secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="webhooks: whsec_ + base64 of 24-64 random bytes; PagerDuty: the routing "
        "key; stored encrypted, never "
        "shown. Blank keeps the current one; a new one keeps the old valid for a day.",
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.initial["addresses_text"] = ", ".join(self.instance.addresses)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = data.get("addresses_text", "")
        data["addresses"] = [a.strip() for a in raw.replace("\n", ",").split(",") if a.strip()]
        kind = data.get("kind") or self.instance.kind
        url = data.get("new_url") or (self.instance.url if self.instance.pk else "")
        if kind == ChannelKind.PAGERDUTY and not url:
            url = settings.NOTIFY_PAGERDUTY_EVENTS_URL
        try:
            services.validate_channel(kind=kind, url=url, addresses=data["addresses"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = {"url": "new_url", "addresses": "addresses_text"}.get(field)
                self.add_error(target, errors)
        return data


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "started_at",
        "success",
        "http_status",
        "smtp_reply",
        "latency_ms",
        "error",
        "response_snippet",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Channel, site=tenant_admin_site)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "enabled", "disabled_reason", "consecutive_failures"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["url_set", "secret_set", "disabled_reason", "consecutive_failures", "test"]

    def get_fieldsets(self, request: HttpRequest, obj: Channel | None = None):
        fields = ["name", "kind", "enabled", "addresses_text", "new_url", "new_secret"]
        if obj is not None:
            fields += self.readonly_fields
        return [(None, {"fields": fields})]

    @admin.display(description="URL stored")
    def url_set(self, obj: Channel) -> str:
        return "yes (hidden)" if obj.url else "no"

    @admin.display(description="secret stored")
    def secret_set(self, obj: Channel) -> str:
        return "yes (hidden)" if obj.secret else "no"

    @admin.display(description="Send test")
    def test(self, obj: Channel) -> str:
        url = reverse(f"{self.admin_site.name}:notifications_channel_send_test", args=[obj.pk])
        last = (
            DeliveryAttempt.objects.filter(
                delivery__channel=obj, delivery__summary__startswith="test:"
            )
            .order_by("-started_at")
            .first()
        )
        answer = ""
        if last is not None:
            answer = format_html(
                "<br>last test {}: {} {} {} <code>{}</code> {}",
                last.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                "OK" if last.success else "FAILED",
                last.http_status or "",
                last.smtp_reply,
                last.response_snippet[:300],
                last.error,
            )
        # A submit button of the change form posting (with its CSRF token) to the test URL.
        return format_html(
            '<button type="submit" class="button" formaction="{}">Send test message</button>{}',
            url,
            answer,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="notifications_channel_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        channel = get_object_or_404(Channel, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, channel):
            raise PermissionDenied
        attempt = services.send_test(channel=channel, actor=_actor(request))
        level = messages.SUCCESS if attempt.success else messages.ERROR
        self.message_user(
            request,
            f"Test to {channel.name}: {'delivered' if attempt.success else 'failed'} - "
            f"receiver answered {attempt.http_status or attempt.smtp_reply or '-'} "
            f"{attempt.response_snippet[:300]!r} {attempt.error}".strip(),
            level,
        )
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:notifications_channel_change", args=[pk])
        )

    def save_model(self, request: HttpRequest, obj: Channel, form: ChannelForm, change: bool):
        data = form.cleaned_data
        if change:
            services.update_channel(
                channel=obj,
                actor=_actor(request),
                name=data["name"],
                url=data.get("new_url", ""),
                addresses=data["addresses"],
                secret=data.get("new_secret", ""),
                enabled=data.get("enabled"),
            )
        else:
            created = services.create_channel(
                name=data["name"],
                kind=data["kind"],
                actor=_actor(request),
                url=data.get("new_url", ""),
                addresses=data["addresses"],
                secret=data.get("new_secret", ""),
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Channel) -> None:
        services.delete_channel(channel=obj, actor=_actor(request))


class RuleForm(forms.ModelForm):
    min_severity = forms.ChoiceField(choices=SEVERITY_CHOICES)
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)
    resource_types_text = forms.CharField(
        label="Resource types",
        required=False,
        help_text="globs, comma separated (microsoft.network/*); blank means all",
    )

    class Meta:
        model = NotificationRule
        fields = [
            "name",
            "enabled",
            "min_severity",
            "events",
            "poll_failing_passes",
            "mode",
            "digest_time",
            "timezone",
            "quiet_start",
            "quiet_end",
            "critical_bypasses_quiet_hours",
            "channels",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("resource_types_text", ", ".join(self.instance.resource_types))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = data.get("resource_types_text", "")
        data["resource_types"] = [g.strip() for g in raw.split(",") if g.strip()]
        try:
            services.validate_rule(
                min_severity=data.get("min_severity", ""),
                events=data.get("events") or [],
                mode=data.get("mode") or Mode.IMMEDIATE,
                timezone_name=data.get("timezone") or "",
                resource_types=data["resource_types"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data

    def save(self, commit: bool = True) -> NotificationRule:
        self.instance.resource_types = self.cleaned_data["resource_types"]
        return super().save(commit)


@admin.register(NotificationRule, site=tenant_admin_site)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "enabled", "min_severity", "mode", "quiet_start", "quiet_end"]
    list_filter = ["enabled", "mode", "min_severity"]
    filter_horizontal = ["channels"]
    fields = [*RuleForm.Meta.fields[:4], "resource_types_text", *RuleForm.Meta.fields[4:]]


@admin.register(Delivery, site=tenant_admin_site)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "summary",
        "channel_name",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel_name"]
    search_fields = ["summary", "idempotency_key", "channel_name"]
    readonly_fields = [
        "summary",
        "channel_name",
        "rule",
        "msp_rule_id",
        "report_id",
        "idempotency_key",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "last_error",
        "items_list",
    ]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="findings")
    def items_list(self, obj: Delivery) -> str:
        rows = obj.items.values_list("event", "severity", "finding_id")
        return ", ".join(f"{e} {s} #{f}" for e, s, f in rows) or "-"

    @admin.action(description="Resend the selected deliveries", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for delivery in queryset:
            services.resend(delivery=delivery, actor=_actor(request))
            count += 1
        self.message_user(request, f"{count} deliveries queued to send again.")


class SnoozeForm(forms.ModelForm):
    class Meta:
        model = Snooze
        fields = ["finding", "rule", "until", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is None:
            try:
                services.validate_snooze(
                    finding_id=data["finding"].pk if data.get("finding") else None,
                    rule_id=data["rule"].pk if data.get("rule") else None,
                    until=data.get("until"),
                    reason=data.get("reason") or "",
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Snooze, site=tenant_admin_site)
class SnoozeAdmin(admin.ModelAdmin):
    form = SnoozeForm
    list_display = ["__str__", "until", "reason", "created_by", "created_at"]
    raw_id_fields = ["finding"]

    def save_model(self, request: HttpRequest, obj: Snooze, form: SnoozeForm, change: bool):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.snooze(
            actor=_actor(request),
            until=obj.until,
            reason=obj.reason,
            finding_id=obj.finding_id,
            rule_id=obj.rule_id,
        )
        obj.pk = created.pk
