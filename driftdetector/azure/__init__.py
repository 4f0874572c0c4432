"""The product's Azure access layer: credentials, SDK clients, pacing and typed errors.

Nothing here imports Django models; only :func:`endpoints_from_settings` reads settings.
"""

from .activitylog import activity_log_callers
from .clients import AzureConnection, ClientOptions, connect, make_credential
from .endpoints import AzureEndpoints, endpoints_from_settings
from .errors import (
    AzureAccessError,
    AzureAuthError,
    AzureConnectionError,
    AzureResponseError,
    AzureThrottledError,
    AzureTimeoutError,
)
from .kqlquery import COLLECTION_QUERIES, QueryBuildError, TableQuery, build_query
from .limiter import ARM_READ_LIMIT, GRAPH_LIMIT, Limit, LocalLimiter, RedisLimiter
from .resourcegraph import (
    QueryFailure,
    ResourcePage,
    SubscriptionInfo,
    iter_resource_pages,
    list_subscriptions,
)
from .stats import CallStats

__all__ = [
    "ARM_READ_LIMIT",
    "COLLECTION_QUERIES",
    "GRAPH_LIMIT",
    "AzureAccessError",
    "AzureAuthError",
    "AzureConnection",
    "AzureConnectionError",
    "AzureEndpoints",
    "AzureResponseError",
    "AzureThrottledError",
    "AzureTimeoutError",
    "CallStats",
    "ClientOptions",
    "Limit",
    "LocalLimiter",
    "QueryBuildError",
    "QueryFailure",
    "RedisLimiter",
    "ResourcePage",
    "SubscriptionInfo",
    "TableQuery",
    "activity_log_callers",
    "build_query",
    "connect",
    "endpoints_from_settings",
    "iter_resource_pages",
    "list_subscriptions",
    "make_credential",
]
