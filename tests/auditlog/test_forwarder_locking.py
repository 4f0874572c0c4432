"""Two forwarders never send the same entries: claims use FOR UPDATE SKIP LOCKED.

Committed rows (no test transaction), so a second database connection can hold a claim.
"""

from __future__ import annotations

import psycopg2
from django.db import connection
from django.utils import timezone

from auditlog.fleet.models import ForwarderState, OutboxEntry
from auditlog.forwarder import forward_batch, target_from_settings


def test_entries_claimed_by_another_forwarder_are_skipped(
    session_tenants, django_db_blocker, elk_on
):
    tenant = session_tenants["a"]
    with django_db_blocker.unblock():
        entries = OutboxEntry.objects.bulk_create(
            [
                OutboxEntry(
                    doc_id=f"lock-test:{i}",
                    tenant=tenant,
                    occurred_at=timezone.now(),
                    document={"@timestamp": "2026-01-01T00:00:00Z", "n": i},
                )
                for i in range(6)
            ]
        )
        ids = [e.pk for e in entries]
        db = connection.settings_dict
        other = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None
        )
        try:
            cursor = other.cursor()
            cursor.execute(
                "SELECT id FROM public.auditlog_fleet_outboxentry WHERE id = ANY(%s)"
                " ORDER BY id LIMIT 3 FOR UPDATE",
                [ids],
            )
            held = {row[0] for row in cursor.fetchall()}
            outcome = forward_batch(target=target_from_settings(), limit=10)
            assert outcome.claimed == 3 and outcome.shipped == 3
            assert set(OutboxEntry.objects.filter(pk__in=ids).values_list("pk", flat=True)) == held
            other.rollback()
            assert forward_batch(target=target_from_settings(), limit=10).shipped == 3
            assert sorted(elk_on.docs) == sorted(f"lock-test:{i}" for i in range(6))
        finally:
            other.close()
            OutboxEntry.objects.filter(pk__in=ids).delete()
            ForwarderState.objects.all().delete()
