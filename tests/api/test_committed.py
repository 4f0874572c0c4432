"""Tests whose data other threads and processes must see: committed rows, no test
transaction (each cleans up after itself)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from tenants.models import Tenant
from tests.conftest import subprocess_env

PROBLEM = "application/problem+json"

PROBE = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftdetector.settings")
django.setup()
from django.test import Client
out = []
for path, headers in [
    ("/api/v1/tenants/", {"HTTP_AUTHORIZATION": "Bearer " + os.environ["PROBE_TOKEN"]}),
    ("/api/v1/tenants/", {"HTTP_AUTHORIZATION": "Bearer ddt_x_y"}),
    ("/t/acme/api/v1/settings/", {}),
    ("/api/v1/tenants/", {}),
    ("/api/v1/tenants/", {"HTTP_COOKIE": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
    ("/t/acme/api/v1/settings/", {"HTTP_COOKIE": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
]:
    r = Client(raise_request_exception=False).get(path, **headers)
    out.append([r.status_code, r["Content-Type"], r.content.decode()])
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "down",
    [
        {"DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing"},
        {"REDIS_URL": "redis://127.0.0.1:9", "REDIS_CACHE_DB": "1", "REDIS_SESSION_DB": "2"},
    ],
    ids=["postgresql", "redis"],
)
def test_a_dependency_down_is_a_503_problem_not_an_html_500(down, committed_msp_token):
    """A valid token's call needs PostgreSQL (the token) and Redis (its throttle bucket)."""
    env = subprocess_env(
        **down, LOG_FORMAT="plain", DJANGO_DEBUG="false", PROBE_TOKEN=committed_msp_token
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers[0][0] == 503, answers
    for status, content_type, body in answers:
        assert status in (401, 404, 503), (status, body[:200])
        assert content_type == "application/problem+json"
        assert json.loads(body)["status"] == status


def test_ten_concurrent_onboardings_of_one_slug_make_one_tenant(
    committed_msp_token, django_db_blocker
):
    """Ten callers at once, half with the same slug, all with the same Azure tenant id:
    one 201; every other answer a 400 or 409 problem; never a 500."""
    slug = f"race-{uuid.uuid4().hex[:8]}"
    azure_id = str(uuid.uuid4())
    answers: list[tuple[int, str]] = []
    barrier = threading.Barrier(10)

    def onboard(i: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {committed_msp_token}")
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/tenants/",
                data={
                    "name": f"Race {i}",
                    "slug": slug if i % 2 else f"{slug}-{i}",
                    "azure_tenant_id": azure_id,
                },
                content_type="application/json",
            )
            answers.append((response.status_code, response["Content-Type"]))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=onboard, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            statuses = [status for status, _ in answers]
            assert len(answers) == 10 and statuses.count(201) == 1, answers
            assert set(statuses) <= {201, 400, 409}, answers
            assert all(ct == PROBLEM for status, ct in answers if status != 201), answers
            assert Tenant.objects.filter(azure_tenant_id=azure_id).count() == 1
        finally:
            for tenant in Tenant.objects.filter(azure_tenant_id=azure_id):
                tenant.delete(force_drop=True)
