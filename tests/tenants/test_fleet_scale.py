"""The fleet page and API at many tenants: pagination with a fleet-wide sort and total,
trends read from the stored totals (same values as the chart helper), and the API's
fleet summary built directly with exactly the serializer's output."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from driftdetector.admin_site import DriftAdminSite
from tenants.api.serializers import FleetRowSerializer, fleet_row_data
from tenants.charts import daily_series
from tenants.models import FindingTrendPoint, TenantStatus
from tenants.selectors import finding_trends, fleet_rows

pytestmark = pytest.mark.django_db


def test_trend_totals_match_the_chart_helper_with_gaps_and_older_points(tenant_a, tenant_b):
    today = timezone.localdate()
    points = {
        tenant_a.pk: {today - timedelta(days=45): 7, today - timedelta(days=20): 3, today: 5},
        tenant_b.pk: {today - timedelta(days=2): 4},
    }
    for tenant_id, by_day in points.items():
        for day, count in by_day.items():
            FindingTrendPoint.objects.update_or_create(
                tenant_id=tenant_id,
                day=day,
                defaults={"open_findings": {"critical": 1, "low": count - 1}},
            )
    trends = finding_trends([tenant_a.pk, tenant_b.pk, 0])
    for tenant_id, by_day in points.items():
        assert trends[tenant_id] == daily_series(by_day, today, 30)
    assert trends[tenant_a.pk][0] == 7, "a point before the window carries into it"
    assert trends[tenant_b.pk][-3:] == [4, 4, 4] and trends[tenant_b.pk][0] is None
    assert trends[0] == [None] * 30
    assert FindingTrendPoint.objects.get(tenant=tenant_a, day=today).total == 5


def test_the_api_summary_is_what_the_serializer_gives(tenant_a, tenant_b):
    TenantStatus.objects.update_or_create(
        tenant=tenant_a,
        defaults={"open_findings": {"high": 2}, "last_poll_at": timezone.now()},
    )
    FindingTrendPoint.objects.update_or_create(
        tenant=tenant_a, day=timezone.localdate(), defaults={"open_findings": {"high": 2}}
    )
    TenantStatus.objects.filter(tenant=tenant_b).delete()
    rows = fleet_rows()

    direct = json.loads(JSONRenderer().render(fleet_row_data(rows)))
    serialized = json.loads(JSONRenderer().render(FleetRowSerializer(rows, many=True).data))
    assert direct == serialized
    mine = next(row for row in direct if row["tenant"]["slug"] == tenant_a.slug)
    assert mine["status"]["open_findings"] == {"high": 2} and mine["trend"][-1] == 2
    assert mine["status"]["last_poll_at"].endswith("Z")
    other = next(row for row in direct if row["tenant"]["slug"] == tenant_b.slug)
    assert other["status"] is None


def test_the_fleet_page_pages_through_a_fleet_wide_sort(
    monkeypatch, client_for, msp_admin, tenant_a, tenant_b
):
    monkeypatch.setattr(DriftAdminSite, "FLEET_PAGE_SIZE", 1)
    for tenant, critical in ((tenant_a, 1), (tenant_b, 9)):
        TenantStatus.objects.update_or_create(
            tenant=tenant, defaults={"open_findings": {"critical": critical}}
        )
    order = [row["tenant"].slug for row in fleet_rows("-critical")]
    client = client_for(msp_admin)
    first = client.get("/admin/fleet/?o=-critical").content.decode()
    second = client.get("/admin/fleet/?o=-critical&p=2").content.decode()
    assert f">{order[0]}</td>" in first and f">{order[1]}</td>" not in first
    assert f">{order[1]}</td>" in second and f">{order[0]}</td>" not in second
    assert order.index(tenant_b.slug) < order.index(tenant_a.slug)
    assert 'id="fleet-pages"' in first and "?o=-critical&amp;p=2" in first
    assert f"of {len(order)} tenants" in first
    beyond = client.get("/admin/fleet/?o=-critical&p=999").content.decode()
    assert f">{order[-1]}</td>" in beyond, "a page past the end shows the last page"
