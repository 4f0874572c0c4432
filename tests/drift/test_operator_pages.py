"""The findings list and finding page as an operator uses them (names, order, actions)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.models import Configuration
from drift.models import DriftException, DriftFinding
from tests.drift.helpers import detect
from tests.factories import DriftFindingFactory

pytestmark = pytest.mark.django_db

LIST = "/t/tenant-a/admin/drift/driftfinding/"


@pytest.fixture
def drifted(collected, sim_client, collect):
    """Tenant A with an NSG opened to the Internet by alice (a critical finding)."""
    with tenant_context(collected):
        nsg = Configuration.objects.filter(
            resource_type="microsoft.network/networksecuritygroups", deleted_at__isnull=True
        ).first()
        subscription_name = Configuration.objects.get(
            resource_type="microsoft.resources/subscriptions",
            subscription_id=nsg.subscription_id,
        ).resource_name
    sim_client.open_inbound_port(nsg.resource_id, caller="alice@contoso.com")
    collect(collected)
    detect(collected)
    with tenant_context(collected):
        finding = DriftFinding.objects.filter(
            resource_id=nsg.resource_id, path__contains="zz-open-ssh"
        ).get()
    return {"nsg": nsg, "finding": finding, "subscription_name": subscription_name}


def test_the_list_shows_names_not_ids_and_sorts_by_severity_then_newest(
    client_for, msp_admin, drifted, tenant_a
):
    with tenant_context(tenant_a):
        now = timezone.now()
        low = DriftFindingFactory(severity="low", first_seen=now + timedelta(minutes=5))
        old_critical = DriftFindingFactory(severity="critical", first_seen=now - timedelta(days=2))
    body = client_for(msp_admin).get(LIST).content.decode()
    assert drifted["nsg"].resource_name in body
    assert drifted["subscription_name"] in body, "subscription by name"
    assert "alice@contoso.com" in body
    assert 'class="sev sev-critical"' in body
    order = [int(pk) for pk in re.findall(r'<a href="(\d+)/change/"', body)]
    assert order.index(drifted["finding"].pk) < order.index(old_critical.pk), "newest first"
    assert order.index(old_critical.pk) < order.index(low.pk), "rank before age"


def test_the_list_filters_by_subscription_and_resource_group(
    client_for, msp_admin, drifted, tenant_a
):
    with tenant_context(tenant_a):
        elsewhere = DriftFindingFactory()
    nsg = drifted["nsg"]
    client = client_for(msp_admin)
    body = client.get(LIST, {"subscription": nsg.subscription_id}).content.decode()
    assert f'href="{drifted["finding"].pk}/change/"' in body
    assert f'href="{elsewhere.pk}/change/"' not in body
    body = client.get(LIST, {"rg": nsg.resource_group}).content.decode()
    assert f'href="{drifted["finding"].pk}/change/"' in body
    assert f'href="{elsewhere.pk}/change/"' not in body


def test_the_finding_page_reads_at_a_glance_and_has_no_save(client_for, msp_admin, drifted):
    finding = drifted["finding"]
    response = client_for(msp_admin).get(f"{LIST}{finding.pk}/change/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    headline = re.search(r'id="finding-headline">(.*?)</p>', body, re.S).group(1)
    assert "alice@contoso.com" in headline
    assert drifted["nsg"].resource_name in headline
    assert "critical" in headline
    assert f"<title>{drifted['nsg'].resource_name} |" in body, "title is the name, not the id"
    assert 'name="_save"' not in body and 'value="Save"' not in body
    assert "zz-open-ssh" in body and '"destinationPortRange": "22"' in body
    assert "portal.azure.com" in body
    assert "/admin/configurations/configuration/" in body, "link to the resource's history"
    assert 'id="act-acknowledge"' in body and 'id="act-exception"' in body


def test_acknowledge_and_exception_from_the_finding_page(client_for, msp_admin, drifted):
    finding = drifted["finding"]
    client = client_for(msp_admin)
    act = f"{LIST}{finding.pk}/act/"
    assert client.post(act, {"action": "acknowledge"}).status_code == 302
    with tenant_context(_tenant("tenant-a")):
        assert DriftFinding.objects.get(pk=finding.pk).status == "acknowledged"
    page = client.post(act, {"action": "exception", "reason": ""}, follow=True)
    assert "Say why this deviation is accepted" in page.content.decode()
    until = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    page = client.post(
        act,
        {"action": "exception", "reason": "change window CHG-42", "expires_at": until},
        follow=True,
    )
    assert "Exception created" in page.content.decode()
    with tenant_context(_tenant("tenant-a")):
        exception = DriftException.objects.get(reason="change window CHG-42")
        assert DriftFinding.objects.get(pk=finding.pk).exception_id == exception.pk
    listing = client.get("/t/tenant-a/admin/drift/driftexception/").content.decode()
    assert "change window CHG-42" in listing and "zz-open-ssh" in listing


def test_a_get_on_the_action_url_changes_nothing(client_for, msp_admin, drifted):
    finding = drifted["finding"]
    response = client_for(msp_admin).get(f"{LIST}{finding.pk}/act/?action=acknowledge")
    assert response.status_code == 405
    with tenant_context(_tenant("tenant-a")):
        assert DriftFinding.objects.get(pk=finding.pk).status == "open"


def _tenant(slug):
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug)
