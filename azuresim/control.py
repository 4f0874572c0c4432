"""The simulator's control interface under ``/_sim/`` (no Azure auth): tenants, resource
writes, faults, throttling mode, the mutator, reset and request statistics."""

from __future__ import annotations

import random
import time
from typing import Any

from .faults import Fault
from .mutator import churn_everything, mutate, restart_mutator
from .state import SimState
from .tenants import TenantSpec, check_state
from .wire import SimRequest, SimResponse, json_response


def _error(status: int, code: str, message: str) -> SimResponse:
    return json_response(status, {"error": {"code": code, "message": message}})


def _body(req: SimRequest) -> dict[str, Any]:
    data = req.json()
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _tenant_view(state: SimState, tenant_id: str) -> dict[str, Any]:
    estate = state.estate(tenant_id)
    assert estate is not None
    view = estate.spec.public_dict()
    view["subscription_ids"] = list(estate.subscription_ids)
    return view


def health(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/health``."""
    return json_response(
        200,
        {"status": "ok", "tenants": len(state.estates()), "uptime": time.time() - state.started},
    )


def list_tenants(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/tenants``."""
    views = [_tenant_view(state, e.spec.tenant_id) for e in state.estates()]
    return json_response(200, {"value": views})


def register_tenant(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/tenants`` with a tenant spec; replaces a tenant with the same id."""
    spec = TenantSpec.from_dict(_body(req))
    state.register(spec)
    return json_response(201, _tenant_view(state, spec.tenant_id))


def get_tenant(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``GET /_sim/tenants/{id}``."""
    if state.estate(tenant) is None:
        return _error(404, "TenantNotFound", f"tenant {tenant} is not registered")
    return json_response(200, _tenant_view(state, tenant.lower()))


def remove_tenant(state: SimState, req: SimRequest, tenant: str) -> SimResponse:
    """``DELETE /_sim/tenants/{id}``."""
    if not state.unregister(tenant):
        return _error(404, "TenantNotFound", f"tenant {tenant} is not registered")
    return json_response(200, {"deleted": tenant.lower()})


def set_subscription_state(
    state: SimState, req: SimRequest, tenant: str, subscription: str
) -> SimResponse:
    """``PUT /_sim/tenants/{id}/subscriptions/{sub}`` ``{"state": "Disabled"}``: Enabled,
    Warned, PastDue, Disabled or Deleted, as ARM lists it and Resource Graph honours it."""
    estate = state.estate(tenant)
    if estate is None:
        return _error(404, "TenantNotFound", f"tenant {tenant} is not registered")
    value = check_state(_body(req).get("state"))
    try:
        estate.set_subscription_state(subscription, value)
    except KeyError:
        return _error(404, "SubscriptionNotFound", f"{subscription} is not in tenant {tenant}")
    return json_response(200, {"subscription_id": subscription.lower(), "state": value})


def set_policy_evaluation(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/policy-evaluation`` ``{"interval": s}``: seconds between two policy
    evaluations (each changes the policy states' compliance fields) for every tenant."""
    interval = int(_body(req).get("interval", 0))
    if interval < 1:
        raise ValueError("interval must be at least 1 second")
    state.options.policy_evaluation_seconds = interval
    for estate in state.estates():
        estate.policy_interval = interval
    return json_response(200, {"interval": interval})


def get_resource(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/resources?id=...``: the current row."""
    rid = req.query.get("id", "")
    try:
        return json_response(200, state.estate_for_resource(rid).row(rid.lower()))
    except (LookupError, KeyError):
        return _error(404, "ResourceNotFound", f"resource {rid} does not exist")


def create_resource(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/resources`` ``{"resource": {...}, "caller": ...}``."""
    body = _body(req)
    try:
        stored = state.create_resource(dict(body.get("resource") or {}), body.get("caller"))
    except FileExistsError as exc:
        return _error(409, "Conflict", f"resource {exc} already exists")
    except LookupError as exc:
        return _error(404, "SubscriptionNotFound", str(exc))
    return json_response(201, stored)


def modify_resource(state: SimState, req: SimRequest) -> SimResponse:
    """``PATCH /_sim/resources`` ``{"id": ..., "patch": {...}, "caller": ...}`` (merge patch)."""
    body = _body(req)
    rid = str(body.get("id", ""))
    try:
        if body.get("outcome") == "failed":
            return json_response(200, {"events": state.fail_write(rid, body.get("caller"))})
        stored = state.modify_resource(rid, dict(body.get("patch") or {}), body.get("caller"))
    except (LookupError, KeyError):
        return _error(404, "ResourceNotFound", f"resource {rid} does not exist")
    return json_response(200, stored)


def delete_resource(state: SimState, req: SimRequest) -> SimResponse:
    """``DELETE /_sim/resources?id=...&caller=...``."""
    rid = req.query.get("id", "")
    try:
        removed = state.delete_resource(rid, req.query.get("caller"))
    except (LookupError, KeyError):
        return _error(404, "ResourceNotFound", f"resource {rid} does not exist")
    return json_response(200, removed)


def invoke_action(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/actions`` ``{"id", "action": "listKeys", "caller"}``: a POST that only
    reads (its Activity Log events, no change)."""
    body = _body(req)
    rid, action = str(body.get("id", "")), str(body.get("action") or "listKeys")
    if not action.isidentifier():
        return _error(400, "BadAction", "action must be a name such as listKeys")
    try:
        events = state.invoke_action(rid, action, body.get("caller"))
    except (LookupError, KeyError):
        return _error(404, "ResourceNotFound", f"resource {rid} does not exist")
    return json_response(200, {"events": events})


def _set_lag(req: SimRequest, feed: Any, default: float) -> SimResponse:
    """Set a feed's ingestion delay from ``{"lag": seconds}``."""
    lag = float(_body(req).get("lag", default))
    if lag < 0:
        return _error(400, "BadLag", "lag must be >= 0 seconds")
    feed.set_lag(lag)
    return json_response(200, {"lag": feed.lag.total_seconds()})


def set_activity(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/activity`` ``{"lag": seconds}``: the Activity Log's ingestion delay."""
    return _set_lag(req, state.activity, state.options.activity_lag)


def set_changes(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/changes`` ``{"lag": seconds}``: the change tables' ingestion delay."""
    return _set_lag(req, state.changes, state.options.changes_lag)


def set_graph_access(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/graph-access`` ``{"tenant_id", "permissions": [...], "premium": bool}``:
    the app's consented Graph permissions in a tenant and its Entra ID P1/P2 licence."""
    body = _body(req)
    tenant_id = str(body.get("tenant_id") or "")
    if not tenant_id:
        return _error(400, "BadRequest", "tenant_id is required")
    permissions = body.get("permissions")
    if permissions is not None and not isinstance(permissions, list):
        return _error(400, "BadRequest", "permissions must be a list of permission names")
    state.graph_access.set(tenant_id, permissions, body.get("premium"))
    return json_response(200, state.graph_access.view(tenant_id))


def set_graph_audit(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/graph-audit`` ``{"tenant_id", "signins_per_minute", "audits_per_minute",
    "backfill_minutes", "extra_signIns": [...], "extra_directoryAudits": [...],
    "invalidate_skiptokens": bool, "refuse_skiptokens": n, "enforce_throttling": bool,
    "reset_counters": bool}``:
    the tenant's audit feed; the answer includes the most requests seen in 10 s."""
    body = _body(req)
    tenant_id = str(body.get("tenant_id") or "")
    if not tenant_id:
        return _error(400, "BadRequest", "tenant_id is required")
    for key in ("extra_signIns", "extra_directoryAudits"):
        if key in body and not isinstance(body[key], list):
            return _error(400, "BadRequest", f"{key} must be a list of objects")
    try:
        return json_response(200, state.audit_feed.configure(tenant_id, body))
    except (TypeError, ValueError) as exc:
        return _error(400, "BadRequest", str(exc))


def list_faults(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/faults``."""
    return json_response(200, {"value": [f.public_dict() for f in state.faults.list()]})


def add_fault(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/faults`` with a fault rule (see :mod:`azuresim.faults`)."""
    fault = state.faults.add(Fault.from_dict(_body(req)))
    return json_response(201, fault.public_dict())


def clear_faults(state: SimState, req: SimRequest) -> SimResponse:
    """``DELETE /_sim/faults``."""
    state.faults.clear()
    return json_response(200, {"cleared": True})


def remove_fault(state: SimState, req: SimRequest, fault_id: str) -> SimResponse:
    """``DELETE /_sim/faults/{id}``."""
    if not state.faults.remove(fault_id):
        return _error(404, "FaultNotFound", f"fault {fault_id} is not active")
    return json_response(200, {"deleted": fault_id})


def set_throttling(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/throttling`` ``{"mode": "off|headers|enforce", "tenant_id": optional}``."""
    body = _body(req)
    state.throttle.set_mode(str(body.get("mode", "")), body.get("tenant_id"))
    return json_response(200, {"mode": state.throttle.mode, "tenants": state.throttle.tenant_modes})


def mutator_status(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/mutator``."""
    status = state.mutator.status() if state.mutator else {"running": False}
    return json_response(200, status)


def start_mutator(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/mutator`` ``{"interval": s, "tenant_id", "batch", "seed"}`` (restarts)."""
    mutator = restart_mutator(state, _body(req), default_interval=10)
    return json_response(201, mutator.status())


def stop_mutator(state: SimState, req: SimRequest) -> SimResponse:
    """``DELETE /_sim/mutator``."""
    if state.mutator is not None:
        state.mutator.stop()
    status = state.mutator.status() if state.mutator else {"running": False}
    state.mutator = None
    return json_response(200, status)


def mutate_now(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/mutator/step`` ``{"tenant_id", "count", "seed"}``: apply changes now.
    ``{"tenant_id", "volatile": "all"}`` instead gives every resource of the tenant new
    values for its read-only, self-changing properties (no configuration change)."""
    body = _body(req)
    rng = random.Random(body.get("seed"))
    if body.get("volatile") == "all" and body.get("tenant_id"):
        churned = churn_everything(state, rng, str(body["tenant_id"]))
        return json_response(200, {"churned": churned})
    changes = [mutate(state, rng, body.get("tenant_id")) for _ in range(int(body.get("count", 1)))]
    return json_response(200, {"value": [c for c in changes if c is not None]})


def reset(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/reset``: forget tenants, faults, throttling state, events; stop mutator."""
    state.reset()
    return json_response(200, {"reset": True})


def stats(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/stats``: request counts per route."""
    return json_response(200, {"requests": dict(state.requests)})


def client_request_ids(state: SimState, req: SimRequest) -> SimResponse:
    """``GET /_sim/client-request-ids``: the client request ids of recent requests."""
    return json_response(200, {"value": list(state.client_request_ids)})


def register_app(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/apps`` ``{client_id, client_secret, redirect_uris, optional_claims}``:
    a web app for sign-in (optional claims: email, given_name, family_name)."""
    body = _body(req)
    app = state.directory.register_app(
        str(body["client_id"]),
        str(body["client_secret"]),
        list(body.get("redirect_uris", [])),
        list(body.get("optional_claims") or []),
    )
    return json_response(201, app)


def add_user(state: SimState, req: SimRequest) -> SimResponse:
    """``POST /_sim/users`` ``{tenant_id, upn, email | mail, given_name, family_name, oid}``
    (``email`` alone: the UPN and mailbox are the same)."""
    return json_response(201, state.directory.add_user_from_dict(_body(req)))


def set_signin_fault(state: SimState, req: SimRequest) -> SimResponse:
    """``PUT /_sim/signin-fault`` ``{kind}``: spoil the next id token (or ``null`` to clear)."""
    from .signin import SIGNIN_FAULTS

    kind = _body(req).get("kind")
    if kind is not None and kind not in SIGNIN_FAULTS:
        return _error(400, "BadFault", f"kind must be one of {', '.join(SIGNIN_FAULTS)}")
    state.directory.fault = kind
    return json_response(200, {"kind": kind})
