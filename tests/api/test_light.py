"""List pages formatted by driftdetector.api.light equal the serializers' own output."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import serializers

from configurations.api.serializers import ConfigurationHistorySerializer, ConfigurationSerializer
from configurations.models import Configuration, ConfigurationHistory
from drift import selectors
from drift.api.serializers import FindingSerializer
from drift.choices import rank_expression
from drift.models import DriftException, DriftFinding
from driftdetector.api import light
from tests.factories import ConfigurationFactory, ConfigurationHistoryFactory, DriftFindingFactory

pytestmark = pytest.mark.django_db


def drf_output(serializer_class, queryset, tenant):
    request = RequestFactory().get("/")
    request.tenant = tenant
    return serializer_class(queryset, many=True, context={"request": request}).data


def test_configuration_and_history_pages_equal_the_serializers(tenant_a, in_tenant):
    in_tenant(tenant_a)
    gone = ConfigurationFactory(name="kv-gone", deleted_at=timezone.now() - timedelta(hours=2))
    ConfigurationFactory(name="kv-ü", first_seen=timezone.now().replace(microsecond=0))
    ConfigurationHistoryFactory(configuration=gone, previous_config={"a": [1, None]})
    ConfigurationHistoryFactory(configuration=gone, change_type="deleted", new_config=None)
    for serializer_class, queryset in (
        (ConfigurationSerializer, Configuration.objects.order_by("id")),
        (ConfigurationHistorySerializer, ConfigurationHistory.objects.order_by("id")),
    ):
        page = list(light.rows(queryset, serializer_class))
        assert light.represent(page, serializer_class, tenant_a) == drf_output(
            serializer_class, queryset, tenant_a
        )


def test_finding_pages_equal_the_serializer_with_the_rule(tenant_a, in_tenant):
    in_tenant(tenant_a)
    exception = DriftException.objects.create(
        resource_pattern="*",
        path_pattern="tags.*",
        reason="tags move",
        approved_by="tests",
        expires_at=timezone.now() + timedelta(days=1),
    )
    DriftFindingFactory(baseline_value=None, current_value={"x": [1, 2]}, exception=exception)
    DriftFindingFactory(severity="low", matched_rule="default", flapping=True)
    queryset = DriftFinding.objects.annotate(severity_rank=rank_expression()).order_by("id")
    index = selectors.rule_index(tenant_a)
    page = list(light.rows(queryset, FindingSerializer, ("severity_rank", "matched_rule")))
    ours = light.represent(
        page,
        FindingSerializer,
        tenant_a,
        {"rule": lambda row: selectors.rule_details_by_name(row["matched_rule"], index)},
    )
    assert ours == drf_output(FindingSerializer, queryset, tenant_a)
    assert ours[0]["rule"]["name"] == "NSG inbound allow from anywhere"


def test_a_time_zone_other_than_utc_is_formatted_by_drf(tenant_a, in_tenant):
    in_tenant(tenant_a)
    ConfigurationFactory()
    queryset = Configuration.objects.all()
    with timezone.override("Europe/Amsterdam"):
        ours = light.represent(
            list(light.rows(queryset, ConfigurationSerializer)), ConfigurationSerializer, tenant_a
        )
        assert ours == drf_output(ConfigurationSerializer, queryset, tenant_a)
    assert ours[0]["first_seen"].endswith(("+01:00", "+02:00"))


def test_a_serializer_with_a_field_it_does_not_know_is_refused():
    class Odd(serializers.Serializer):
        id = serializers.IntegerField()
        size = serializers.DecimalField(max_digits=5, decimal_places=2)

    with pytest.raises(TypeError, match=r"Odd\.size"):
        light.plan(Odd)


def test_the_light_list_api_still_pages_with_cursors(token_client, msp_admin, tenant_a, in_tenant):
    in_tenant(tenant_a)
    made = [ConfigurationFactory().pk for _ in range(5)]
    connection.set_schema_to_public()
    client = token_client(msp_admin)
    seen = []
    url = f"/t/{tenant_a.slug}/api/v1/configurations/?limit=2"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        assert all(
            row["tenant"] == {"id": tenant_a.pk, "slug": tenant_a.slug} for row in body["results"]
        )
        assert all("config_data" not in row for row in body["results"])
        url = body["next"]
    assert seen == sorted(made, reverse=True)


def test_findings_order_is_validated_and_filters_still_apply(
    token_client, msp_admin, tenant_a, in_tenant
):
    in_tenant(tenant_a)
    DriftFindingFactory(severity="low")
    DriftFindingFactory(severity="critical")
    connection.set_schema_to_public()
    client = token_client(msp_admin)
    url = f"/t/{tenant_a.slug}/api/v1/drift/findings/"
    bad = client.get(url + "?order=bogus")
    assert bad.status_code == 400 and "order" in bad.json()["errors"]
    ranked = client.get(url + "?order=severity").json()["results"]
    assert [row["severity"] for row in ranked] == ["critical", "low"]
    low = client.get(url + "?order=severity&severity=low").json()["results"]
    assert [row["severity"] for row in low] == ["low"]


def test_a_configuration_detail_equals_the_serializer_and_keeps_drf_404s(
    tenant_a, tenant_b, customer_a, token_client, in_tenant
):
    import json

    from configurations.api.serializers import ConfigurationDetailSerializer

    in_tenant(tenant_a)
    config = ConfigurationFactory(name="kv-ü", deleted_at=timezone.now())
    config.config_data = {"id": config.resource_id, "n": [1.5, None, {"ü": "\u2028"}]}
    config.save()
    expected = drf_output(
        ConfigurationDetailSerializer, Configuration.objects.filter(pk=config.pk), tenant_a
    )[0]
    connection.set_schema_to_public()
    client = token_client(customer_a)
    base = f"/t/{tenant_a.slug}/api/v1/configurations"

    response = client.get(f"{base}/{config.pk}/")

    assert response.status_code == 200
    assert json.loads(response.content) == json.loads(json.dumps(expected))
    for missing in (config.pk + 1000, "abc", "9" * 25):
        gone = client.get(f"{base}/{missing}/")
        assert gone.status_code == 404 and gone["Content-Type"] == "application/problem+json"
    assert client.get(f"/t/{tenant_b.slug}/api/v1/configurations/{config.pk}/").status_code == 404


def test_the_rule_index_follows_every_change_of_either_settings_document(tenant_a, in_tenant):
    """Cached by the documents' content: a new version or an edit in place is seen at once."""
    from tenants.models import Settings as TenantSettings
    from tenants.selectors import public_tenant
    from tenants.services import update_settings

    in_tenant(tenant_a)
    rule = {
        "name": "MSP: weak TLS is critical for us",
        "resource_type": "microsoft.storage/*",
        "path": "^properties\\.minimumTlsVersion$",
        "severity": "critical",
    }
    assert rule["name"] not in selectors.rule_index(tenant_a)
    update_settings(public_tenant(), actor="msp", drift_thresholds={"rules": [rule]})
    assert selectors.rule_index(tenant_a)[rule["name"]]["source"] == "MSP default"
    version = update_settings(tenant_a, actor="t", drift_thresholds={"rules": [rule]})
    assert selectors.rule_index(tenant_a)[rule["name"]]["source"] == "tenant"
    TenantSettings.objects.filter(pk=version.pk).update(
        drift_thresholds={"rules": [{**rule, "name": "renamed in place"}]}
    )
    index = selectors.rule_index(tenant_a)
    assert index["renamed in place"]["source"] == "tenant"
    assert index[rule["name"]]["source"] == "MSP default"
    assert selectors.rule_index(tenant_a) is index  # unchanged documents: the cached index


def test_the_sql_rank_equals_rank_expression(tenant_a, in_tenant):
    from drift.choices import SEVERITIES, rank_sql

    in_tenant(tenant_a)
    for severity in (*SEVERITIES, "unknown"):
        DriftFindingFactory(severity="low" if severity == "unknown" else severity)
    DriftFinding.objects.filter(pk=DriftFinding.objects.order_by("-id")[0].pk).update(
        severity="bogus"
    )
    column = f'"{DriftFinding._meta.db_table}"."severity"'
    ours = DriftFinding.objects.annotate(r=rank_sql(column)).order_by("-r", "-id")
    theirs = DriftFinding.objects.annotate(r=rank_expression()).order_by("-r", "-id")
    assert list(ours.values_list("id", "r")) == list(theirs.values_list("id", "r"))
    assert sorted({r for _, r in ours.values_list("id", "r")}) == [-1, 0, 1, 2, 3]
