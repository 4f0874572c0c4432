"""MSP admin (/admin/) for MSP-wide channels (write-only URL and secret) and rules.

Their deliveries are rows in each tenant's schema: the tenant admin's deliveries page
(MSP staff only) lists them beside the tenant's own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from notifications import services
from notifications.admin import ChannelForm, RuleForm
from notifications.msp.models import MspChannel, MspNotificationRule


class MspChannelForm(ChannelForm):
    class Meta(ChannelForm.Meta):
        model = MspChannel


@admin.register(MspChannel)
class MspChannelAdmin(admin.ModelAdmin):
    form = MspChannelForm
    list_display = ["name", "kind", "enabled", "disabled_reason", "consecutive_failures"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["url_set", "secret_set", "disabled_reason", "consecutive_failures"]

    def get_fieldsets(self, request: HttpRequest, obj: MspChannel | None = None):
        fields = ["name", "kind", "enabled", "addresses_text", "new_url", "new_secret"]
        if obj is not None:
            fields += self.readonly_fields
        return [(None, {"fields": fields})]

    @admin.display(description="URL stored")
    def url_set(self, obj: MspChannel) -> str:
        return "yes (hidden)" if obj.url else "no"

    @admin.display(description="secret stored")
    def secret_set(self, obj: MspChannel) -> str:
        return "yes (hidden)" if obj.secret else "no"

    def save_model(
        self, request: HttpRequest, obj: MspChannel, form: MspChannelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        actor = request.user.get_username()
        if change:
            services.update_channel(
                channel=obj,
                actor=actor,
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
                actor=actor,
                url=data.get("new_url", ""),
                addresses=data["addresses"],
                secret=data.get("new_secret", ""),
                msp=True,
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: MspChannel) -> None:
        services.delete_channel(channel=obj, actor=request.user.get_username())


class MspRuleForm(RuleForm):
    class Meta(RuleForm.Meta):
        model = MspNotificationRule
        fields = [*RuleForm.Meta.fields, "all_tenants", "tenants"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all_tenants") and not data.get("tenants"):
            self.add_error("tenants", ValidationError("choose the tenants, or tick all tenants"))
        return data


@admin.register(MspNotificationRule)
class MspNotificationRuleAdmin(admin.ModelAdmin):
    form = MspRuleForm
    list_display = ["name", "enabled", "all_tenants", "min_severity", "mode"]
    list_filter = ["enabled", "all_tenants", "mode", "min_severity"]
    filter_horizontal = ["channels", "tenants"]
    fields = [
        *RuleForm.Meta.fields[:4],
        "resource_types_text",
        *RuleForm.Meta.fields[4:],
        "all_tenants",
        "tenants",
    ]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "tenants":
            from tenants.selectors import customer_tenants

            kwargs["queryset"] = customer_tenants().order_by("name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.audit_rule_saved(rule=obj, actor=request.user.get_username(), created=not change)
