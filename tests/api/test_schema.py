"""The OpenAPI document: generated without a warning, served with offline docs, and the
API fuzzed against it with schemathesis (fixed seed, bounded examples)."""

from __future__ import annotations

import io
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import create_api_token
from driftdetector.wsgi import application

pytestmark = pytest.mark.django_db


def test_schema_generation_has_no_warnings_or_errors():
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "spectacular",
        "--urlconf",
        "driftdetector.urls_schema",
        "--fail-on-warn",
        "--validate",
        stdout=out,
        stderr=err,
    )
    assert "Warning" not in err.getvalue() and "Error" not in err.getvalue(), err.getvalue()
    assert "/t/{slug}/api/v1/drift/findings/{id}/acknowledge/" in out.getvalue()


def test_schema_and_docs_are_served_without_internet(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "/api/schema/" in html
        scripts = re.findall(r'src="([^"]+)"', html)
        assert scripts and all(src.startswith("/static/") for src in scripts), scripts
        for src in scripts:
            assert finders.find(src.removeprefix("/static/")), src


# Left to their own tests: calls to Azure or to notification receivers, and onboarding
# (each example would clone a schema).
NOT_FUZZED = r"test-connection|/channels/\{id\}/test/|/resend/|^/api/v1/tenants/$"
EXAMPLES = 6
OBJECT_OF = {
    "configurations": "configuration",
    "poll-runs": "poll_run",
    "findings": "finding",
    "reports": "report",
    "baselines": "baseline",
    "exceptions": "exception",
}


def _fill_path(case, tenant_a, api_objects) -> None:
    """Tenant A's slug, and the known object's id where the path names one, so details
    and actions are reached, not only their 404s."""
    params = case.path_parameters or {}
    if "slug" not in params:
        return
    params["slug"] = tenant_a.slug
    parts = case.operation.path.strip("/").split("/")
    if "id" in params and "{id}" in parts:
        kind = parts[parts.index("{id}") - 1]
        if kind in OBJECT_OF:
            params["id"] = api_objects[OBJECT_OF[kind]]


def test_no_input_gets_a_server_error_or_breaks_the_schema(msp_admin, tenant_a, api_objects):
    """Every operation, as the MSP admin (who may do everything) in tenant A: schemathesis
    generates inputs from the schema (fixed seed, a few examples each); no answer may be a
    5xx or differ from the schema."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).exclude(
        path_regex=NOT_FUZZED
    )
    _, token = create_api_token(user=msp_admin, name="fuzz")
    headers = {"Authorization": f"Bearer {token}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            _fill_path(case, tenant_a, api_objects)
            # Each example starts from the same data: its writes are rolled back.
            savepoint = transaction.savepoint()
            try:
                case.call_and_validate(
                    headers=headers, checks=[not_a_server_error, response_schema_conformance]
                )
            finally:
                transaction.savepoint_rollback(savepoint)
                connection.set_schema_to_public()

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) > 60, checked
