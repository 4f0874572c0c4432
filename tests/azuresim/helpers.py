"""Small helpers for driving the real SDKs at the simulator in tests."""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import ClientSecretCredential
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from azuresim.server import SimServer

# The one cross-table union Resource Graph documents (Resources with ResourceContainers).
UNION = "resources | union resourcecontainers"
TABLES = ("resources", "resourcecontainers", "authorizationresources", "policyresources")


def credential(sim: SimServer, tenant: dict[str, Any], secret: str | None = None) -> Any:
    """The real ClientSecretCredential pointed at the simulator."""
    return ClientSecretCredential(
        tenant["tenant_id"],
        tenant["client_id"],
        secret or tenant["client_secret"],
        authority=sim.base_url,
        disable_instance_discovery=True,
        connection_verify=str(sim.ca_path),
    )


def graph_client(sim: SimServer, tenant: dict[str, Any], **kwargs: Any) -> ResourceGraphClient:
    """The real ResourceGraphClient pointed at the simulator (retries off by default)."""
    kwargs.setdefault("retry_policy", RetryPolicy(retry_total=0))
    return ResourceGraphClient(
        credential(sim, tenant),
        base_url=sim.base_url,
        credential_scopes=[sim.base_url + "/.default"],
        connection_verify=str(sim.ca_path),
        **kwargs,
    )


def run_query(
    client: ResourceGraphClient,
    query: str,
    subscriptions: list[str],
    top: int = 1000,
    skip_token: str | None = None,
    **kwargs: Any,
) -> Any:
    """One Resource Graph page."""
    request = QueryRequest(
        subscriptions=subscriptions,
        query=query,
        options=QueryRequestOptions(top=top, skip_token=skip_token, result_format="objectArray"),
    )
    return client.resources(request, **kwargs)


def all_rows(
    client: ResourceGraphClient, query: str, subscriptions: list[str], top: int
) -> tuple[list[dict[str, Any]], int, int]:
    """Every row through $skipToken paging: (rows, pages, totalRecords of page 1)."""
    rows: list[dict[str, Any]] = []
    token, pages, total = None, 0, -1
    while True:
        page = run_query(client, query, subscriptions, top=top, skip_token=token)
        pages += 1
        total = page.total_records if total < 0 else total
        rows.extend(page.data)
        token = page.skip_token
        if not token:
            return rows, pages, total


def every_row(
    client: ResourceGraphClient, subscriptions: list[str], top: int = 1000
) -> list[dict[str, Any]]:
    """Every row of the four tables, one paged query per table (as Resource Graph wants)."""
    rows: list[dict[str, Any]] = []
    for table in TABLES:
        rows.extend(all_rows(client, f"{table} | order by id asc", subscriptions, top)[0])
    return rows


def arm_get(sim: SimServer, tenant: dict[str, Any], path: str) -> HttpResponse:
    """GET an ARM path with a real bearer token through an azure-core pipeline."""
    scope = sim.base_url + "/.default"
    client = PipelineClient(
        base_url=sim.base_url,
        policies=[
            RetryPolicy(retry_total=0),
            BearerTokenCredentialPolicy(credential(sim, tenant), scope),
        ],
        connection_verify=str(sim.ca_path),
    )
    return client.send_request(HttpRequest("GET", sim.base_url + path))


def raw_get(sim: SimServer, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """GET without authentication."""
    client = PipelineClient(base_url=sim.base_url, policies=[], connection_verify=str(sim.ca_path))
    return client.send_request(HttpRequest("GET", sim.base_url + path, headers=headers or {}))
