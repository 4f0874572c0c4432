"""Fixtures of the notification tests: a real loopback inbox (SMTP + HTTP) and settings
that let the SSRF guard reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifications import inbox as inbox_module
from tests.drift.conftest import collected  # noqa: F401  (a collected tenant with a baseline)


@pytest.fixture(scope="session")
def running_inbox() -> Iterator[inbox_module.RunningInbox]:
    running = inbox_module.start()
    yield running
    running.stop()


@pytest.fixture
def inbox(running_inbox, settings) -> Iterator[inbox_module.RunningInbox]:
    """The session inbox, emptied, with the product allowed to reach loopback and its SMTP."""
    running_inbox.inbox.clear()
    settings.NOTIFY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.NOTIFY_SMTP_HOST = "127.0.0.1"
    settings.NOTIFY_SMTP_PORT = running_inbox.smtp_port
    settings.NOTIFY_TIMEOUT_SECONDS = 1.5
    settings.NOTIFY_RETRY_BASE_SECONDS = 5.0
    yield running_inbox
    running_inbox.inbox.clear()
