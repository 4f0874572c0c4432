"""Fixtures of the audit tests: a loopback Elasticsearch receiver, ELK forwarding on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auditlog.elk_receiver import ElkReceiver


@pytest.fixture
def receiver() -> Iterator[ElkReceiver]:
    server = ElkReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def elk_on(receiver: ElkReceiver, settings) -> ElkReceiver:
    """ELK_URL pointing at the loopback receiver."""
    settings.ELK_URL = receiver.url
    settings.ELK_INDEX = "logs-driftdetector.audit-test"
    return receiver
