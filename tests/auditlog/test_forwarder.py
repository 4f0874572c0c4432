"""Shipping audit rows to Elasticsearch: outbox, _bulk with op_type create, per-item errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from auditlog import mapping
from auditlog.fleet.models import ForwarderState, OutboxEntry
from auditlog.forwarder import forward_pending, target_from_settings
from auditlog.services import record_platform_event, write_graph_rows

pytestmark = pytest.mark.django_db


def _sign_ins(count: int, *, start: int = 0) -> list[dict]:
    from azuresim.msgraph import sign_in_row

    base = timezone.now().timestamp() - 600
    return [sign_in_row("tenant-x", i, base + i) for i in range(start, start + count)]


def _write(tenant, objects) -> int:
    with tenant_context(tenant):
        return write_graph_rows(source=mapping.SOURCE_SIGNIN, objects=objects, now=timezone.now())


def test_without_elk_url_nothing_is_queued_and_the_forwarder_does_nothing(tenant_a, settings):
    settings.ELK_URL = ""
    assert _write(tenant_a, _sign_ins(5)) == 5
    assert OutboxEntry.objects.count() == 0
    assert target_from_settings() is None
    assert forward_pending().claimed == 0


def test_new_rows_ship_as_ecs_documents_and_leave_the_outbox(tenant_a, tenant_b, elk_on):
    _write(tenant_a, _sign_ins(30))
    with tenant_context(tenant_b):
        record_platform_event(actor="bob", action="settings.changed", resource="settings:1")
    assert OutboxEntry.objects.count() == 31
    outcome = forward_pending()
    assert (outcome.shipped, outcome.parked, outcome.retry) == (31, 0, 0)
    assert OutboxEntry.objects.count() == 0
    assert len(elk_on.docs) == 31

    doc_id = next(k for k in elk_on.docs if k.startswith(f"{tenant_a.schema_name}:azure_signin:"))
    doc = elk_on.docs[doc_id]
    assert doc["event"]["category"] == ["authentication"] and doc["event"]["kind"] == "event"
    assert doc["event"]["outcome"] in ("success", "failure")
    assert doc["organization"]["id"] == tenant_a.azure_tenant_id
    assert doc["cloud"]["provider"] == "azure"
    assert doc["user"]["name"].endswith("@contoso.example") and doc["user"]["domain"]
    assert doc["source"]["ip"] and doc["source"]["geo"]["country_iso_code"]
    assert "raw" not in str(doc.keys())
    platform = next(d for k, d in elk_on.docs.items() if k.startswith(tenant_b.schema_name))
    assert platform["event"]["category"] == ["configuration"]
    assert platform["organization"]["id"] == tenant_b.azure_tenant_id
    state = ForwarderState.objects.get()
    assert state.shipped_total == 31 and state.last_shipped_at is not None


def test_a_resend_is_a_409_already_there_and_counts_once(tenant_a, elk_on):
    _write(tenant_a, _sign_ins(5))
    pending = list(OutboxEntry.objects.values("doc_id", "tenant_id", "document", "occurred_at"))
    forward_pending()
    OutboxEntry.objects.bulk_create([OutboxEntry(**row) for row in pending])
    outcome = forward_pending()
    assert (outcome.shipped, outcome.already_there) == (0, 5)
    assert OutboxEntry.objects.count() == 0 and len(elk_on.docs) == 5
    assert elk_on.conflicts == 5


def test_a_mapping_error_parks_that_document_and_the_rest_ship(tenant_a, elk_on):
    _write(tenant_a, _sign_ins(10))
    poisoned = OutboxEntry.objects.order_by("id")[3]
    poisoned.document["source"]["ip"] = "not-an-ip"
    poisoned.save()
    outcome = forward_pending()
    assert (outcome.shipped, outcome.parked) == (9, 1)
    parked = OutboxEntry.objects.get()
    assert parked.pk == poisoned.pk and parked.state == OutboxEntry.State.PARKED
    assert "document_parsing_exception" in parked.last_error and "source.ip" in parked.last_error
    assert forward_pending().claimed == 0, "a parked document is not sent again by itself"
    assert ForwarderState.objects.get().parked_total == 1


def test_a_cluster_429_per_item_retries_those_items_later(tenant_a, elk_on):
    _write(tenant_a, _sign_ins(10))
    elk_on.item_429 = 3
    outcome = forward_pending()
    assert (outcome.shipped, outcome.retry) == (7, 3)
    waiting = list(OutboxEntry.objects.all())
    assert len(waiting) == 3
    assert all(e.attempts == 1 and e.next_attempt_at > timezone.now() for e in waiting)
    assert all("429" in e.last_error for e in waiting)
    assert forward_pending().claimed == 0, "not before their back-off"
    OutboxEntry.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert forward_pending().shipped == 3
    assert len(elk_on.docs) == 10


@pytest.mark.parametrize("status", [500, 429])
def test_a_failed_bulk_request_ships_nothing_and_loses_nothing(tenant_a, elk_on, status):
    _write(tenant_a, _sign_ins(10))
    elk_on.whole_status = status
    outcome = forward_pending()
    assert outcome.shipped == 0 and str(status) in outcome.failed
    assert OutboxEntry.objects.filter(state="pending").count() == 10
    state = ForwarderState.objects.get()
    assert str(status) in state.last_error and state.last_shipped_at is None
    elk_on.whole_status = None
    assert forward_pending().shipped == 10


def test_an_outage_leaves_a_backlog_that_ships_whole_and_once_after_recovery(tenant_a, elk_on):
    """Ten minutes of rows written while the cluster is down (a steady stream, page by page)."""
    elk_on.stop()
    for minute in range(10):
        _write(tenant_a, _sign_ins(20, start=minute * 20))
        outcome = forward_pending()
        assert outcome.shipped == 0 and "unreachable" in outcome.failed
    assert OutboxEntry.objects.count() == 200
    elk_on.start()
    assert forward_pending(limit=64).shipped == 200
    assert len(elk_on.docs) == 200 and elk_on.conflicts == 0
    assert OutboxEntry.objects.count() == 0
