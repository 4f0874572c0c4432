"""Page benchmark: the operator's and the customer's pages with 200 tenants and 5,000
findings in one tenant, through the whole Django stack (middleware, admin, templates).

Fleet page (200 tenants with status and 30 days of trend points), the findings list
and a finding page of the big tenant, and its customer page; each requested
``--samples`` times after warm-up with Django's test client. Run with
``python bench/pages.py`` (DATABASE_URL / REDIS_URL set, e.g. ``. var/services.env``).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import fresh_database, setup_django
from _fleet import SEVERITIES, fleet_state, measure, p95


def onboard(count: int) -> list:
    from tenants import services

    quiet = {"polling_settings": {"enabled": False, "interval_minutes": 60, "page_size": 1000}}
    return [
        services.onboard_tenant(
            name=f"Customer {i:03d}",
            slug=f"customer-{i:03d}",
            azure_tenant_id=str(uuid.uuid4()),
            actor="bench",
            settings_overrides=quiet,
        )
        for i in range(count)
    ]


def big_tenant_data(tenant, findings: int, resources: int) -> list[int]:
    """Collected resources (two named subscriptions), a baseline and ``findings`` findings."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from configurations.models import Configuration, ConfigurationHistory
    from drift.models import Baseline, BaselineEntry, DriftFinding

    now = timezone.now()
    subs = [str(uuid.uuid4()) for _ in range(2)]
    with tenant_context(tenant):
        rows = [
            Configuration(
                resource_id=f"/subscriptions/{sid}",
                resource_type="microsoft.resources/subscriptions",
                resource_name=f"Production {i + 1}",
                subscription_id=sid,
                config_data={"name": f"Production {i + 1}"},
                config_hash=f"s{i}",
                first_seen=now,
                last_updated=now,
            )
            for i, sid in enumerate(subs)
        ]
        ids = []
        for i in range(resources):
            sid = subs[i % 2]
            group = f"rg-app-{i % 40:02d}"
            rid = (
                f"/subscriptions/{sid}/resourcegroups/{group}/providers/"
                f"microsoft.network/networksecuritygroups/nsg-{i:05d}"
            )
            ids.append(rid)
            rules = {
                f"rule-{r}": {
                    "name": f"rule-{r}",
                    "properties": {"access": "Allow", "priority": 100 + r, "port": str(r)},
                }
                for r in range(12)
            }
            rows.append(
                Configuration(
                    resource_id=rid,
                    resource_type="microsoft.network/networksecuritygroups",
                    resource_name=f"nsg-{i:05d}",
                    subscription_id=sid,
                    resource_group=group,
                    location="westeurope",
                    config_data={"name": f"nsg-{i:05d}", "properties": {"securityRules": rules}},
                    config_hash=f"h{i}",
                    first_seen=now,
                    last_updated=now,
                )
            )
        Configuration.objects.bulk_create(rows, batch_size=1000)
        baseline = Baseline.objects.create(name="bench", created_by="bench")
        BaselineEntry.objects.bulk_create(
            [
                BaselineEntry(
                    baseline=baseline,
                    resource_id=row.resource_id,
                    resource_type=row.resource_type,
                    config=row.config_data,
                    config_hash=row.config_hash,
                    accepted_at=now,
                )
                for row in rows
            ],
            batch_size=1000,
        )
        configs = {c.resource_id: c for c in Configuration.objects.all()}
        ConfigurationHistory.objects.bulk_create(
            [
                ConfigurationHistory(
                    configuration=configs[rid],
                    new_config=configs[rid].config_data,
                    changed_at=now - timedelta(minutes=n),
                    change_type="updated",
                    changed_by=f"user{n % 30}@contoso.com",
                )
                for n, rid in enumerate(ids)
            ],
            batch_size=1000,
        )
        rng = random.Random(2)
        statuses = ["open"] * 6 + ["acknowledged", "resolved", "accepted"]
        created = DriftFinding.objects.bulk_create(
            [
                DriftFinding(
                    resource_id=ids[n % len(ids)],
                    resource_type="microsoft.network/networksecuritygroups",
                    kind="modified",
                    path=f"properties.securityRules.rule-{n // len(ids)}.properties.access",
                    baseline_value="Deny",
                    current_value="Allow",
                    severity=rng.choice(SEVERITIES),
                    matched_rule="default",
                    changed_by=f"user{n % 30}@contoso.com",
                    status=rng.choice(statuses),
                    first_seen=now - timedelta(minutes=n),
                    last_seen=now,
                )
                for n in range(findings)
            ],
            batch_size=1000,
        )
    return [finding.pk for finding in created]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--database", default="bench_pages")
    args = parser.parse_args()
    setup_django(fresh_database(args.database))
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Role, User
    from tenants.selectors import public_tenant

    call_command("migrate_schemas", verbosity=0)
    t0 = time.perf_counter()
    tenants = onboard(args.tenants)
    fleet_state(tenants)
    big = tenants[0]
    finding_ids = big_tenant_data(big, args.findings, args.resources)
    print(f"data set up in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    msp = User.objects.create(
        username="bench-msp",
        tenant=public_tenant(),
        role=Role.objects.get(name="MSP Admin"),
        is_staff=True,
        is_superuser=True,
    )
    customer = User.objects.create(
        username="bench-customer", tenant=big, role=Role.objects.get(name="Customer Viewer")
    )
    operator, viewer = Client(), Client()
    operator.force_login(msp)
    viewer.force_login(customer)
    rng = random.Random(3)
    base = f"/t/{big.slug}"
    detail_urls = [
        f"{base}/admin/drift/driftfinding/{pk}/change/" for pk in rng.sample(finding_ids, 20)
    ]
    pages = {
        "fleet": measure(operator, ["/admin/fleet/"], args.samples),
        "findings_list": measure(
            operator,
            [
                f"{base}/admin/drift/driftfinding/",
                f"{base}/admin/drift/driftfinding/?status=unresolved",
                f"{base}/admin/drift/driftfinding/?severity__exact=critical&p=3",
            ],
            args.samples,
        ),
        "finding_detail": measure(operator, detail_urls, args.samples),
        "customer_page": measure(viewer, [f"{base}/"], args.samples),
    }
    # Medians beside the p95s: on a shared machine the tail is mostly other processes.
    print(
        json.dumps(
            {
                "bench": "pages",
                **{f"{name}_p95_ms": p95(times) for name, times in pages.items()},
                **{
                    f"{name}_p50_ms": round(statistics.median(times) * 1000, 1)
                    for name, times in pages.items()
                },
                "tenants": args.tenants,
                "findings_in_tenant": args.findings,
                "samples": args.samples,
            }
        )
    )


if __name__ == "__main__":
    main()
