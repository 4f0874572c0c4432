"""Through a real Celery worker and beat: a change in the simulator reaches the loopback
inbox as one grouped message per channel; a worker killed mid-send loses nothing and the
receiver (honouring webhook-id) keeps no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from configurations.models import Configuration
from notifications import services
from notifications.inbox import Reply
from notifications.models import Delivery
from tenants import services as tenant_services
from tests.conftest import committed_wired_tenant, start_celery
from tests.notifications.helpers import channel, pending_delivery

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait(predicate, timeout: float, what: str, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}\n{p.read_text()[-4000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


@pytest.fixture
def committed_tenant(django_db_blocker, make_tenant, sim, settings, running_inbox):
    """A committed tenant wired to the simulator, collected once (baseline set)."""
    settings.AZURE_AUTHORITY_HOST = settings.AZURE_ARM_ENDPOINT = settings.AZURE_GRAPH_ENDPOINT = (
        sim.base_url
    )
    settings.AZURE_CA_BUNDLE = str(sim.ca_path)
    settings.NOTIFY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    running_inbox.inbox.clear()
    slug = f"notify-{uuid.uuid4().hex[:6]}"
    tenant_id = str(uuid.uuid4())
    simulated = make_tenant(tenant_id=tenant_id, resources=60, subscriptions=1)
    with committed_wired_tenant(django_db_blocker, simulated, slug) as tenant:
        yield tenant
        running_inbox.inbox.clear()


def _worker_env(sim, running_inbox, **extra):
    return {
        "AZURE_AUTHORITY_HOST": sim.base_url,
        "AZURE_ARM_ENDPOINT": sim.base_url,
        "AZURE_GRAPH_ENDPOINT": sim.base_url,
        "AZURE_CA_BUNDLE": str(sim.ca_path),
        "NOTIFY_ALLOWED_NETWORKS": "127.0.0.0/8",
        "NOTIFY_SMTP_URL": f"smtp://127.0.0.1:{running_inbox.smtp_port}",
        "NOTIFY_TIMEOUT_SECONDS": "10",
        **extra,
    }


def test_a_change_in_azure_arrives_once_per_channel_through_the_worker(
    committed_tenant, django_db_blocker, sim, sim_client, collect, running_inbox, tmp_path
):
    tenant = committed_tenant
    inbox = running_inbox.inbox
    with django_db_blocker.unblock():
        collect(tenant)
        from drift.services import run_detection

        with tenant_context(tenant):
            run_detection(tenant)  # the first baseline
            hook = channel("webhook", f"{running_inbox.url}/webhook")
            mail = channel("email", addresses=["oncall@example.com"])
            services.create_rule(name="on call", actor="t", channels=[hook, mail])
            nsg = Configuration.objects.filter(
                resource_type="microsoft.network/networksecuritygroups"
            ).first()
    sim_client.open_inbound_port(nsg.resource_id, caller="mallory@contoso.com")
    env = _worker_env(sim, running_inbox)
    logs = [tmp_path / "worker.log"]
    worker = start_celery(
        [
            "worker",
            "-Q",
            "poll,drift,notify",
            "--concurrency",
            "2",
            "-n",
            f"n-{uuid.uuid4().hex[:6]}@%h",
        ],
        logs[0],
        **env,
    )
    try:
        with django_db_blocker.unblock():
            tenant_services.request_poll(tenant, trigger="test")
        _wait(lambda: len(inbox.messages) >= 2, 90, "the grouped messages", logs)
        time.sleep(3)  # nothing more arrives for this pass
    finally:
        _stop(worker)
    webhook = inbox.of_kind("webhook")
    email = inbox.of_kind("email")
    assert len(webhook) == 1 and len(email) == 1, [m["kind"] for m in inbox.messages]
    data = webhook[0]["body"]["data"]
    assert data["tenant"]["slug"] == tenant.slug and data["events"]["opened"] >= 1
    assert data["findings"][0]["severity"] == "critical"
    assert data["findings"][0]["changed_by"] == "mallory@contoso.com"
    assert tenant.slug in email[0]["subject"]


def test_a_worker_killed_mid_send_loses_nothing_and_duplicates_nothing(
    committed_tenant, django_db_blocker, sim, running_inbox, tmp_path
):
    tenant = committed_tenant
    inbox = running_inbox.inbox
    inbox.script["/slow"] = [Reply(200, delay=4), Reply(200)]
    with django_db_blocker.unblock(), tenant_context(tenant):
        ch = channel("webhook", f"{running_inbox.url}/slow")
        delivery = pending_delivery(ch, key=f"{tenant.schema_name}.killed")
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    env = _worker_env(sim, running_inbox, NOTIFY_LEASE_SECONDS="3", NOTIFY_SWEEP_SECONDS="1")
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log", tmp_path / "beat.log"]
    first = start_celery(
        ["worker", "-Q", "notify", "--concurrency", "1", "-n", f"k1-{uuid.uuid4().hex[:6]}@%h"],
        logs[0],
        **env,
    )
    try:
        with django_db_blocker.unblock(), tenant_context(tenant):
            services.queue_due_deliveries()
        _wait(lambda: inbox.requests >= 1, 60, "the first send to start", logs)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    second = start_celery(
        ["worker", "-Q", "notify", "--concurrency", "1", "-n", f"k2-{uuid.uuid4().hex[:6]}@%h"],
        logs[1],
        **env,
    )
    beat = start_celery(
        ["beat", "--max-interval", "1", "-s", str(tmp_path / "beat-schedule")], logs[2], **env
    )
    try:

        def sent():
            with django_db_blocker.unblock(), tenant_context(tenant):
                return Delivery.objects.filter(pk=delivery.pk, status="sent").first()

        done = _wait(sent, 90, "the sweep to send the delivery again", logs)
    finally:
        _stop(beat)
        _stop(second)
    assert done.attempts == 2, "the killed try counts"
    assert inbox.requests == 2, "sent again after the lease"
    kept = [m for m in inbox.messages if m["id"] == delivery.idempotency_key]
    assert len(kept) == 1, "the receiver keeps one message"
    assert inbox.redeliveries() == 1, "the second arrival was recognised by its webhook-id"
    with django_db_blocker.unblock(), tenant_context(tenant):
        attempts = list(done.attempt_log.values_list("success", flat=True))
    assert attempts == [True]
