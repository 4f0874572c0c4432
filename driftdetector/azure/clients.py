"""Credentials, SDK clients and a raw ARM pipeline, wired with our retry and throttle policies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    HeadersPolicy,
    NetworkTraceLoggingPolicy,
    RequestIdPolicy,
    UserAgentPolicy,
)
from azure.identity import CertificateCredential, ClientSecretCredential
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient

from .endpoints import AzureEndpoints
from .limiter import RateLimiter
from .policies import CountingRetryPolicy, ThrottlePolicy
from .stats import CallStats

USER_AGENT = "azure-drift-detector/0.1"


@dataclass(frozen=True)
class ClientOptions:
    """Retry, throttling and timeout knobs (tests use small values)."""

    retry_total: int = 4
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 30.0
    max_throttle_retries: int = 3
    max_throttle_wait: float = 60.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep  # pacing/limiter waits; tests may record them


def make_credential(
    tenant_id: str,
    client_id: str,
    endpoints: AzureEndpoints,
    *,
    client_secret: str | None = None,
    certificate_pem: str | bytes | None = None,
) -> TokenCredential:
    """A ClientSecretCredential, or a CertificateCredential when a PEM (key + cert) is given."""
    kwargs: dict[str, Any] = {
        "authority": endpoints.authority_host,
        "connection_verify": endpoints.verify,
    }
    if not endpoints.is_public_cloud:
        kwargs["disable_instance_discovery"] = True
    if certificate_pem:
        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        return CertificateCredential(tenant_id, client_id, certificate_data=data, **kwargs)
    if not client_secret:
        raise ValueError("either client_secret or certificate_pem is required")
    return ClientSecretCredential(tenant_id, client_id, client_secret, **kwargs)


def _policy_kwargs(
    endpoints: AzureEndpoints,
    options: ClientOptions,
    principal: str,
    stats: CallStats,
    limiter: RateLimiter | None,
) -> dict[str, Any]:
    retry = CountingRetryPolicy(
        stats,
        max_wait=options.max_throttle_wait,
        retry_total=options.retry_total,
        retry_backoff_factor=options.retry_backoff_factor,
        retry_backoff_max=options.retry_backoff_max,
    )
    throttle = ThrottlePolicy(
        principal=principal,
        stats=stats,
        limiter=limiter,
        max_throttle_retries=options.max_throttle_retries,
        max_wait=options.max_throttle_wait,
        sleep=options.sleep,
    )
    return {
        "base_url": endpoints.arm_endpoint,
        "credential_scopes": [endpoints.arm_scope],
        "connection_verify": endpoints.verify,
        "connection_timeout": options.connection_timeout,
        "read_timeout": options.read_timeout,
        "retry_policy": retry,
        "per_retry_policies": [throttle],
        "user_agent": USER_AGENT,
    }


@dataclass
class AzureConnection:
    """One tenant seen through one app registration: credential, clients, limiter, stats."""

    tenant_id: str
    client_id: str
    credential: TokenCredential
    endpoints: AzureEndpoints
    options: ClientOptions = field(default_factory=ClientOptions)
    limiter: RateLimiter | None = None
    stats: CallStats = field(default_factory=CallStats)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def principal(self) -> str:
        """The limiter key: the app's service principal in this tenant.

        Azure counts Resource Graph quota per user (security principal) and ARM reads per
        principal and subscription; a multi-tenant app has one service principal per
        customer tenant, so the bucket is per (tenant, app), shared by every worker.
        """
        return f"{self.tenant_id.lower()}:{self.client_id.lower()}"

    def _kwargs(self) -> dict[str, Any]:
        return _policy_kwargs(
            self.endpoints, self.options, self.principal, self.stats, self.limiter
        )

    @property
    def subscription_client(self) -> SubscriptionClient:
        """SubscriptionClient (azure-mgmt-resource-subscriptions) against the ARM endpoint."""
        if "subscriptions" not in self._clients:
            self._clients["subscriptions"] = SubscriptionClient(self.credential, **self._kwargs())
        return self._clients["subscriptions"]

    @property
    def graph_client(self) -> ResourceGraphClient:
        """ResourceGraphClient against the ARM endpoint."""
        if "graph" not in self._clients:
            self._clients["graph"] = ResourceGraphClient(self.credential, **self._kwargs())
        return self._clients["graph"]

    @property
    def arm_pipeline(self) -> PipelineClient:
        """A raw azure-core pipeline for ARM calls without an SDK (Activity Log)."""
        if "arm" not in self._clients:
            kwargs = self._kwargs()
            policies = [
                RequestIdPolicy(),
                HeadersPolicy(),
                UserAgentPolicy(base_user_agent=USER_AGENT),
                ContentDecodePolicy(),
                kwargs["retry_policy"],
                ARMChallengeAuthenticationPolicy(self.credential, self.endpoints.arm_scope),
                *kwargs["per_retry_policies"],
                NetworkTraceLoggingPolicy(),
            ]
            self._clients["arm"] = PipelineClient(
                base_url=self.endpoints.arm_endpoint,
                policies=policies,
                connection_verify=self.endpoints.verify,
                connection_timeout=self.options.connection_timeout,
                read_timeout=self.options.read_timeout,
            )
        return self._clients["arm"]

    def close(self) -> None:
        """Close the clients and the credential's transport."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        close = getattr(self.credential, "close", None)
        if close is not None:
            close()


def connect(
    tenant_id: str,
    client_id: str,
    endpoints: AzureEndpoints,
    *,
    client_secret: str | None = None,
    certificate_pem: str | bytes | None = None,
    options: ClientOptions | None = None,
    limiter: RateLimiter | None = None,
    stats: CallStats | None = None,
) -> AzureConnection:
    """Build an :class:`AzureConnection` (no network call is made until first use)."""
    credential = make_credential(
        tenant_id,
        client_id,
        endpoints,
        client_secret=client_secret,
        certificate_pem=certificate_pem,
    )
    return AzureConnection(
        tenant_id=tenant_id,
        client_id=client_id,
        credential=credential,
        endpoints=endpoints,
        options=options or ClientOptions(),
        limiter=limiter,
        stats=stats or CallStats(),
    )
