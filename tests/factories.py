"""factory_boy factories for the public-schema models."""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone

from accounts.models import Role, User
from tenants.selectors import public_tenant


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass ``tenant=`` and ``role_name=`` (default: MSP Engineer in the MSP tenant)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        role_name = "MSP Engineer"

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    tenant = factory.LazyFunction(public_tenant)
    role = factory.LazyAttribute(lambda o: Role.objects.get(name=o.role_name))
    is_staff = factory.LazyAttribute(lambda o: o.tenant.schema_name == "public")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def new_azure_tenant_id() -> str:
    """A fresh GUID for an Azure tenant id."""
    return str(uuid.uuid4())


class DriftFindingFactory(factory.django.DjangoModelFactory):
    """An open finding in the current tenant schema (enter the schema first)."""

    class Meta:
        model = "drift.DriftFinding"

    resource_id = factory.Sequence(
        lambda n: (
            f"/subscriptions/s/resourcegroups/rg/providers/microsoft.network/networksecuritygroups/nsg-{n}"
        )
    )
    resource_type = "microsoft.network/networksecuritygroups"
    kind = "modified"
    path = "properties.securityRules.open-ssh.properties.access"
    baseline_value = "Deny"
    current_value = "Allow"
    severity = "critical"
    matched_rule = "NSG inbound allow from anywhere"
    changed_by = "unknown"
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


class PollRunFactory(factory.django.DjangoModelFactory):
    """A succeeded collection pass in the current tenant schema (enter the schema first)."""

    class Meta:
        model = "configurations.PollRun"

    started_at = factory.LazyFunction(timezone.now)
    status = "succeeded"
    seen = 1
    created = 1


class ConfigurationFactory(factory.django.DjangoModelFactory):
    """A collected key vault in the current tenant schema (enter the schema first); its
    subscription, group and name follow ``resource_id``."""

    class Meta:
        model = "configurations.Configuration"

    class Params:
        subscription = "aaaa"
        group = "rg-api"
        name = factory.Sequence(lambda n: f"kv-{n}")

    resource_id = factory.LazyAttribute(
        lambda o: (
            f"/subscriptions/{o.subscription}/resourcegroups/{o.group}"
            f"/providers/microsoft.keyvault/vaults/{o.name}"
        )
    )
    resource_type = "microsoft.keyvault/vaults"
    resource_name = factory.LazyAttribute(lambda o: o.name)
    subscription_id = factory.LazyAttribute(lambda o: o.subscription)
    resource_group = factory.LazyAttribute(lambda o: o.group)
    location = "westeurope"
    config_data = factory.LazyAttribute(
        lambda o: {"id": o.resource_id, "properties": {"enablePurgeProtection": True}}
    )
    config_hash = "0" * 64
    first_seen = factory.LazyFunction(timezone.now)
    last_updated = factory.LazyAttribute(lambda o: o.first_seen)


class ConfigurationHistoryFactory(factory.django.DjangoModelFactory):
    """The ``created`` change of ``configuration`` (its current document)."""

    class Meta:
        model = "configurations.ConfigurationHistory"

    configuration = factory.SubFactory(ConfigurationFactory)
    new_config = factory.LazyAttribute(lambda o: o.configuration.config_data)
    changed_at = factory.LazyAttribute(lambda o: o.configuration.last_updated)
    change_type = "created"
    changed_by = "alice@contoso.com"
