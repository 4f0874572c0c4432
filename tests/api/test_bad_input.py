"""Inputs that used to get a 500 get a clear 4xx in problem-details JSON."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/t/{slug}/api/v1/configurations/?type=%00",
        "/t/{slug}/api/v1/drift/findings/?status=%00",
        "/t/{slug}/api/v1/drift/findings/?kind=a%00b",
        "/t/x%00/api/v1/settings/",
        "/t/{slug}/api/v1/configurations/%00/",
        "/api/v1/tenants/?slug=%00",
    ],
)
def test_nul_bytes_in_path_or_query_are_a_400(url, client_for, msp_admin, tenant_a):
    assert_problem(client_for(msp_admin).get(url.format(slug=tenant_a.slug)), 400)


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_a_20_digit_limit_or_offset_is_a_400(param, client_for, msp_admin, tenant_a):
    client = client_for(msp_admin)
    body = assert_problem(client.get(f"/api/v1/tenants/?{param}=12345678901234567890"), 400)
    assert param in body["errors"]
    if param == "limit":
        cursor = client.get(f"/t/{tenant_a.slug}/api/v1/configurations/?limit=99999999999999999999")
        assert_problem(cursor, 400)


def test_the_page_size_is_capped(client_for, msp_admin, tenant_a):
    client = client_for(msp_admin)
    assert_problem(client.get("/api/v1/tenants/?limit=1000000"), 400)
    assert client.get("/api/v1/tenants/?limit=500").status_code == 200


def test_json_nested_1000_deep_is_a_400_and_stores_nothing(client_for, msp_admin, tenant_a):
    before = tenant_a.settings_versions.count()
    deep = '{"polling_settings": ' + "[" * 1200 + "]" * 1200 + "}"
    response = client_for(msp_admin).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/", data=deep, content_type="application/json"
    )
    assert "deeper" in assert_problem(response, 400)["detail"]
    also_deep = '{"name": ' + "[" * 100 + "]" * 100 + "}"
    response = client_for(msp_admin).post(
        "/api/v1/tenants/", data=also_deep, content_type="application/json"
    )
    assert_problem(response, 400)
    assert tenant_a.settings_versions.count() == before


def test_nul_inside_a_settings_document_is_a_400(client_for, msp_admin, tenant_a):
    before = tenant_a.settings_versions.count()
    body = '{"notification_settings": {"email": {"recipients": ["a\\u0000@x.com"]}}}'
    response = client_for(msp_admin).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/", data=body, content_type="application/json"
    )
    assert "NUL" in assert_problem(response, 400)["detail"]
    assert tenant_a.settings_versions.count() == before


def test_an_invalid_rule_regex_is_refused_through_the_api(client_for, msp_admin, tenant_a):
    before = tenant_a.settings_versions.count()
    current = client_for(msp_admin).get(f"/t/{tenant_a.slug}/api/v1/settings/").json()
    thresholds = dict(current["drift_thresholds"])
    thresholds["rules"] = [
        {"name": "broken", "resource_type": "*", "path": "([unclosed", "severity": "high"}
    ]
    response = client_for(msp_admin).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        data={"drift_thresholds": thresholds},
        content_type="application/json",
    )
    body = assert_problem(response, 400)
    assert "drift_thresholds" in body["errors"]
    assert tenant_a.settings_versions.count() == before


def test_a_patch_that_changes_nothing_stores_nothing(client_for, msp_admin, tenant_a):
    client = client_for(msp_admin)
    current = client.get(f"/t/{tenant_a.slug}/api/v1/settings/").json()
    before = tenant_a.settings_versions.count()
    response = client.patch(
        f"/t/{tenant_a.slug}/api/v1/settings/",
        data={"polling_settings": current["polling_settings"]},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["id"] == current["id"]
    assert tenant_a.settings_versions.count() == before


def test_a_too_large_body_is_a_413(client_for, msp_admin, tenant_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"notification_settings": {"x": "y" * 5000}})
    response = client_for(msp_admin).patch(
        f"/t/{tenant_a.slug}/api/v1/settings/", data=body, content_type="application/json"
    )
    assert_problem(response, 413)


def test_unsupported_media_type_and_method_are_problems(client_for, msp_admin, tenant_a):
    client = client_for(msp_admin)
    assert_problem(
        client.patch(f"/t/{tenant_a.slug}/api/v1/settings/", data="a=b", content_type="text/plain"),
        415,
    )
    assert_problem(client.delete(f"/t/{tenant_a.slug}/api/v1/settings/"), 405)


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing/", "/api/nothing", "/t/{slug}/api/v1/nope/"]
)
def test_unknown_api_paths_are_a_json_404(path, client_for, msp_admin, tenant_a):
    assert_problem(client_for(msp_admin).get(path.format(slug=tenant_a.slug)), 404)


@pytest.mark.parametrize(
    "path", ["/t/{slug}/api/v1/settings/", "/t/{slug}/api/v1/settings", "/t/{slug}/api/v1/"]
)
def test_anonymous_callers_cannot_tell_tenants_apart(path, tenant_a):
    client = Client()
    known = client.get(path.format(slug=tenant_a.slug))
    unknown = client.get(path.format(slug="no-such-tenant"))
    bad_token = Client(HTTP_AUTHORIZATION="Bearer ddt_nope").get(path.format(slug=tenant_a.slug))
    assert known.status_code == unknown.status_code == bad_token.status_code == 404
    assert known.content == unknown.content == bad_token.content
    assert known["Content-Type"] == unknown["Content-Type"] == PROBLEM


def test_tenant_query_on_the_admin_settings_form_is_not_a_500(client_for, msp_admin, tenant_a):
    for value in ("abc", "%00", "99999999999999999999"):
        response = client_for(msp_admin).get(f"/admin/tenants/settings/add/?tenant={value}")
        assert response.status_code < 500, (value, response.status_code)
