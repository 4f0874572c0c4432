"""The platform change log: one SigningLog row per create, update or delete of an audited
model made by a person (a web, admin or API request, or a management command).

One mechanism for every way in: model signals on the audited models below, with the actor,
client IP and request id from ``auditlog.context`` (set by the middleware for requests
and by :func:`auditlog.context.acting_as` for commands). Writes the platform makes by
itself (collection, detection, deliveries) run as ``system`` and are not recorded.
Queryset ``update()`` fires no signal; the services that change findings that way call
:func:`auditlog.services.record_change` themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

from auditlog.context import current_actor

logger = logging.getLogger(__name__)

PUBLIC = "public"
# Never worth a change record: bookkeeping the platform updates by itself.
IGNORED_FIELDS = frozenset(
    {"last_login", "last_used_at", "updated_at", "last_updated", "consecutive_failures"}
)


def _same_schema(instance: Model) -> str:
    return connection.schema_name


def _tenant_schema(instance: Model) -> str:
    return instance.schema_name


def _of_tenant_field(instance: Model) -> str:
    tenant = getattr(instance, "tenant", None)
    return tenant.schema_name if tenant is not None else PUBLIC


def _of_user(instance: Model) -> str:
    return _of_tenant_field(instance.user)


def _public(instance: Model) -> str:
    return PUBLIC


@dataclass(frozen=True)
class Audited:
    """How one model is audited: its object type, the schema its rows go to, and which of
    its fields are secret (only the fact that they changed is recorded)."""

    object_type: str
    schema: Callable[[Model], str]
    secret: frozenset[str] = field(default_factory=frozenset)
    record_create: bool = True


REGISTRY: dict[str, Audited] = {
    # A new tenant is recorded by onboarding once its schema exists ("tenant.onboarded").
    "tenants.tenant": Audited("tenant", _tenant_schema, record_create=False),
    "tenants.settings": Audited("settings", _of_tenant_field),
    "tenants.azurecredential": Audited(
        "credential", _public, frozenset({"client_secret", "certificate_pem"})
    ),
    "accounts.user": Audited("user", _of_tenant_field, frozenset({"password"})),
    "accounts.role": Audited("role", _public),
    "accounts.apitoken": Audited("api_token", _of_user, frozenset({"token_hash"})),
    "drift.baseline": Audited("baseline", _same_schema),
    "drift.driftexception": Audited("exception", _same_schema),
    "notifications.channel": Audited(
        "channel", _same_schema, frozenset({"url", "secret", "previous_secret"})
    ),
    "notifications.notificationrule": Audited("notification_rule", _same_schema),
    "notifications.snooze": Audited("snooze", _same_schema),
}


def _values(instance: Model) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        if f.name in IGNORED_FIELDS:
            continue
        out[f.attname] = getattr(instance, f.attname)
    return out


def _mask(values: dict[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    return {k: ("(set)" if v else "") if k in secret else v for k, v in values.items()}


def _recording() -> bool:
    return current_actor().via != "system"


def _previous_settings(instance: Model) -> dict[str, Any]:
    """A settings change is a new version: compare with the version it replaces."""
    previous = (
        type(instance)
        .objects.filter(tenant_id=instance.tenant_id)
        .exclude(pk=instance.pk)
        .order_by("-last_updated", "-id")
        .first()
    )
    return _values(previous) if previous is not None else {}


def _audited(sender: type[Model]) -> Audited | None:
    """The registry entry for a real model. A migration's historical models (a data
    migration saving Settings, say) send the same signals; they are never recorded: the
    audit table may not exist yet, and no person made that change."""
    if sender._meta.apps is not global_apps:
        return None
    return REGISTRY.get(sender._meta.label_lower)


def _before_save(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    audited = _audited(sender)
    if audited is None or raw or not _recording():
        return
    before: dict[str, Any] = {}
    if instance.pk is not None:
        old = sender._default_manager.filter(pk=instance.pk).first()
        before = _values(old) if old is not None else {}
    instance._audit_before = before


def _after_save(
    sender: type[Model], instance: Model, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    from auditlog.services import record_change

    audited = _audited(sender)
    if audited is None or raw or not _recording():
        return
    if created and not audited.record_create:
        return
    before = getattr(instance, "_audit_before", {})
    if created and sender._meta.label_lower == "tenants.settings":
        before = _previous_settings(instance)
    after = _values(instance)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if not created and not changed:
        return
    record_change(
        action=f"{audited.object_type}.{'created' if created else 'updated'}",
        object_type=audited.object_type,
        object_id=instance.pk,
        before=_mask({k: before.get(k) for k in changed}, audited.secret) if before else None,
        after=_mask({k: after.get(k) for k in changed}, audited.secret),
        schema_name=audited.schema(instance),
        extra={"object_repr": str(instance)[:200]},
    )


def _after_delete(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    from auditlog.services import record_change

    audited = _audited(sender)
    if audited is None or not _recording():
        return
    try:
        schema = audited.schema(instance)
    except Exception:
        schema = PUBLIC
    if sender._meta.label_lower == "tenants.tenant":
        schema = PUBLIC  # its schema goes with it
    record_change(
        action=f"{audited.object_type}.deleted",
        object_type=audited.object_type,
        object_id=instance.pk,
        before=_mask(_values(instance), audited.secret),
        schema_name=schema,
        extra={"object_repr": str(instance)[:200]},
    )


def connect() -> None:
    """Connect the signal handlers (from the app's ``ready``)."""
    pre_save.connect(_before_save, dispatch_uid="auditlog.changes.pre_save")
    post_save.connect(_after_save, dispatch_uid="auditlog.changes.post_save")
    post_delete.connect(_after_delete, dispatch_uid="auditlog.changes.post_delete")
