"""Azure Resource Graph: ``POST /providers/Microsoft.ResourceGraph/resources``.

Rows are always returned sorted by lower-cased id; ``$skipToken`` carries the last id served
(keyset paging), so pages neither repeat nor skip rows while the estate changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from . import faults, kql
from .arm import authenticate, request_headers
from .estate import Estate
from .state import SimState
from .throttle import hms
from .wire import SimRequest, SimResponse, arm_error, dumps

MAX_TOP = 1000


def _invalid_query(
    message: str, headers: dict[str, str], err: kql.KqlError | None = None
) -> SimResponse:
    """Resource Graph's 400: ``BadRequest`` whose message carries only the support ids.

    What was wrong is in ``details``: ``InvalidQuery`` then the specific code (ParserFailure
    with line/position/token, UnsupportedJoinFlavor, ...); an unknown table is answered
    with the single detail ``DisallowedLogicalTableName``, as Azure does.
    """
    invalid = {
        "code": "InvalidQuery",
        "message": "Query is invalid. Please refer to the documentation for the Azure "
        "Resource Graph service and fix the error before retrying.",
    }
    details: list[dict[str, Any]] = [invalid]
    if err is None:
        details.append({"code": "InvalidRequest", "message": message})
    elif err.code == kql.BAD_TABLE:
        details = [{"code": err.code, "message": str(err)}]
    elif err.code == kql.PARSER_FAILURE:
        details.append(
            {
                "code": err.code,
                "message": str(err),
                "line": 1,
                "characterPositionInLine": err.position,
                "token": err.token,
            }
        )
    else:
        details.append({"code": err.code, "message": str(err)})
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    support = (
        "Please provide below info when asking for support: timestamp = "
        f"{stamp}, correlationId = {headers.get('x-ms-correlation-request-id', '')}."
    )
    return arm_error(400, "BadRequest", support, headers, details)


def _fingerprint(query: str, subscriptions: list[str]) -> str:
    return hashlib.sha1(  # noqa: S324 - a fingerprint, not security
        (query + "|" + ",".join(subscriptions)).encode()
    ).hexdigest()[:16]


def encode_token(after: str, page: int, served: int, fingerprint: str) -> str:
    """An opaque ``$skipToken`` (base64 JSON, as Azure's look)."""
    raw = json.dumps({"$id": after, "page": page, "served": served, "q": fingerprint})
    return base64.b64encode(raw.encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    """Inverse of :func:`encode_token`; raises ValueError when invalid."""
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True))
        return {
            "after": str(data["$id"]),
            "page": int(data["page"]),
            "served": int(data["served"]),
            "q": str(data["q"]),
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("The $skipToken is invalid.") from exc


class _Scan:
    """Evaluates a parsed query against one estate."""

    def __init__(self, estate: Estate, query: kql.Query, subscriptions: set[str]) -> None:
        self.estate = estate
        self.query = query
        self.subscriptions = subscriptions
        self.tables = set(query.tables)

    def matches(self, key: str) -> bool:
        meta = self.estate.meta(key)
        if meta is None or meta.table not in self.tables:
            return False
        # Tenant-level rows (built-in role and policy definitions) have no subscription and
        # answer every query of the tenant.
        if meta.subscription and meta.subscription not in self.subscriptions:
            return False
        if self.query.where is None:
            return True
        cache: dict[str, Any] = {}

        def get_row() -> dict[str, Any]:
            if "row" not in cache:
                cache["row"] = self.estate.row(key)
            return cache["row"]

        return self.query.where(key, meta, get_row)

    def total(self, fingerprint: str) -> int:
        cache_key = (fingerprint, self.estate.version)
        cached = self.estate.count_cache.get(cache_key)
        if cached is None:
            cached = sum(1 for key in self.estate.sorted_keys() if self.matches(key))
            if len(self.estate.count_cache) > 256:
                self.estate.count_cache.clear()
            self.estate.count_cache[cache_key] = cached
        return cached if self.query.limit is None else min(cached, self.query.limit)

    def page(self, after: str | None, top: int) -> tuple[list[str], bool]:
        keys, start = self.estate.keys_after(after)
        found: list[str] = []
        for position in range(start, len(keys)):
            key = keys[position]
            if self.matches(key):
                if len(found) == top:
                    return found, True
                found.append(key)
        return found, False

    def body(self, key: str) -> bytes:
        source = self.query.withsource
        if self.query.project is None and source is None:
            return self.estate.row_json(key)
        row = self.estate.row(key)
        if source is not None:
            meta = self.estate.meta(key)
            row[source] = self.query.labels.get(meta.table, meta.table) if meta else ""
        if self.query.project is None:
            return dumps(row)
        return dumps(
            {name.replace(".", "_"): kql.field_value(row, name) for name in self.query.project}
        )


class _ChangeScan:
    """Evaluates a query of a change table (resourcechanges, resourcecontainerchanges).

    The rows visible now (after the ingestion lag, within the 14 days kept) of the
    caller's tenant and subscriptions, sorted by lower-cased id like every other table.
    """

    def __init__(
        self, state: SimState, tenant_id: str, query: kql.Query, subscriptions: set[str]
    ) -> None:
        self.query = query
        rows = state.changes.visible(tenant_id)
        table = query.tables[0]
        self.rows = [
            r
            for r in rows
            if r.meta.table == table
            and r.meta.subscription in subscriptions
            and (query.where is None or query.where(r.key, r.meta, lambda r=r: r.row))
        ]
        self.by_key = {r.key: r for r in self.rows}

    def total(self, fingerprint: str) -> int:
        count = len(self.rows)
        return count if self.query.limit is None else min(count, self.query.limit)

    def page(self, after: str | None, top: int) -> tuple[list[str], bool]:
        keys = [r.key for r in self.rows if after is None or r.key > after]
        return keys[:top], len(keys) > top

    def body(self, key: str) -> bytes:
        row = self.by_key[key].row
        if self.query.withsource is not None:
            row = {**row, self.query.withsource: self.query.labels.get(self.query.tables[0])}
        if self.query.project is None:
            return dumps(row)
        return dumps(
            {name.replace(".", "_"): kql.field_value(row, name) for name in self.query.project}
        )


def query_resources(state: SimState, req: SimRequest) -> SimResponse:
    """Run a Resource Graph query for the caller's tenant and return one page."""
    principal = authenticate(state, req)
    if isinstance(principal, SimResponse):
        return principal
    headers = request_headers()
    decision = state.throttle.take("graph", principal.tenant_id, principal.app_id)
    headers["x-ms-user-quota-remaining"] = str(decision.remaining)
    headers["x-ms-user-quota-resets-after"] = hms(decision.resets_after)
    if not decision.allowed:
        if state.options.graph_429_retry_after:
            headers["Retry-After"] = str(max(1, round(decision.retry_after)))
        return arm_error(
            429,
            "RateLimiting",
            "Please provide below info when asking for support: Client application has been "
            "throttled and should not attempt to repeat the request until an amount of time "
            "has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.",
            headers,
        )
    try:
        payload = req.json()
    except ValueError:
        return arm_error(
            400, "InvalidRequestContent", "The request content is not valid JSON.", headers
        )
    if not isinstance(payload, dict):
        return arm_error(
            400, "InvalidRequestContent", "The request content must be an object.", headers
        )
    options = payload.get("options") or {}
    subs_given = [str(s).lower() for s in payload.get("subscriptions") or []]
    estate = principal.estate
    # A Deleted subscription has no resources left to read; it drops out of the scope.
    subscriptions = [
        s
        for s in (subs_given or estate.subscription_ids)
        if estate.owns_subscription(s) and estate.subscription_state(s) != "Deleted"
    ]
    if subs_given and not subscriptions:
        return arm_error(
            403,
            "AuthorizationFailed",
            "The client does not have access to any of the requested subscriptions.",
            headers,
        )
    if payload.get("managementGroups"):
        return _invalid_query(
            "managementGroups scopes are not supported by the simulator.", headers
        )
    if options.get("resultFormat", "objectArray") not in ("objectArray", None):
        return _invalid_query("Only resultFormat 'objectArray' is supported.", headers)
    top = int(options.get("$top") or state.options.graph_default_top)
    if not 1 <= top <= MAX_TOP:
        return _invalid_query(f"The value of '$top' must be between 1 and {MAX_TOP}.", headers)
    text = str(payload.get("query", ""))
    try:
        query = kql.parse(text)
    except kql.KqlError as err:
        return _invalid_query(str(err), headers, err)
    fingerprint = _fingerprint(text, sorted(subscriptions))
    after, page, served = None, 1, 0
    if options.get("$skipToken"):
        try:
            token = decode_token(str(options["$skipToken"]))
        except ValueError as exc:
            return _invalid_query(str(exc), headers)
        if token["q"] != fingerprint:
            return _invalid_query("The $skipToken does not belong to this query.", headers)
        after, page, served = token["after"], token["page"], token["served"]
    faulted = faults.apply(state.faults, req, principal.tenant_id, page, query.tables[0])
    if faulted is not None:
        faulted.headers = {**headers, **faulted.headers}
        return faulted
    started = time.perf_counter()
    scan: _Scan | _ChangeScan
    if query.tables[0] in kql.CHANGE_TABLES:
        scan = _ChangeScan(state, principal.tenant_id, query, set(subscriptions))
    else:
        scan = _Scan(estate, query, set(subscriptions))
    if query.limit is not None:
        top = max(0, min(top, query.limit - served))
    keys, more = scan.page(after, top) if top else ([], False)
    if query.limit is not None and served + len(keys) >= query.limit:
        more = False
    total = scan.total(fingerprint)
    parts = [
        b'{"totalRecords":%d,"count":%d,"data":[' % (total, len(keys)),
        b",".join(scan.body(key) for key in keys),
        b'],"facets":[],"resultTruncated":"false"',
    ]
    if more:
        token = encode_token(keys[-1], page + 1, served + len(keys), fingerprint)
        parts.append(b',"$skipToken":"' + token.encode() + b'"')
    parts.append(b"}")
    elapsed = time.perf_counter() - started
    headers["x-ms-resource-graph-request-duration"] = f"0:00:00:{elapsed:09.7f}"
    return SimResponse(200, b"".join(parts), headers)
