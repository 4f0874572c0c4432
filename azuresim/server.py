"""The HTTPS server: routing, the threaded TLS listener and in-process start/stop."""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import arm, control, identity, msgraph, resourcegraph
from .config import apply_config
from .state import SimOptions, SimState
from .tls import prepare_tls
from .wire import SimRequest, SimResponse, arm_error, json_response

log = logging.getLogger("azuresim")

Handler = Callable[..., SimResponse]

_ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", r"/_sim/health", control.health, "control"),
    ("GET", r"/_sim/tenants", control.list_tenants, "control"),
    ("POST", r"/_sim/tenants", control.register_tenant, "control"),
    ("GET", r"/_sim/tenants/(?P<tenant>[^/]+)", control.get_tenant, "control"),
    ("DELETE", r"/_sim/tenants/(?P<tenant>[^/]+)", control.remove_tenant, "control"),
    (
        "PUT",
        r"/_sim/tenants/(?P<tenant>[^/]+)/subscriptions/(?P<subscription>[^/]+)",
        control.set_subscription_state,
        "control",
    ),
    ("PUT", r"/_sim/policy-evaluation", control.set_policy_evaluation, "control"),
    ("GET", r"/_sim/resources", control.get_resource, "control"),
    ("POST", r"/_sim/resources", control.create_resource, "control"),
    ("PATCH", r"/_sim/resources", control.modify_resource, "control"),
    ("DELETE", r"/_sim/resources", control.delete_resource, "control"),
    ("POST", r"/_sim/actions", control.invoke_action, "control"),
    ("PUT", r"/_sim/activity", control.set_activity, "control"),
    ("PUT", r"/_sim/changes", control.set_changes, "control"),
    ("PUT", r"/_sim/graph-access", control.set_graph_access, "control"),
    ("GET", r"/_sim/faults", control.list_faults, "control"),
    ("POST", r"/_sim/faults", control.add_fault, "control"),
    ("DELETE", r"/_sim/faults", control.clear_faults, "control"),
    ("DELETE", r"/_sim/faults/(?P<fault_id>[^/]+)", control.remove_fault, "control"),
    ("PUT", r"/_sim/throttling", control.set_throttling, "control"),
    ("GET", r"/_sim/mutator", control.mutator_status, "control"),
    ("POST", r"/_sim/mutator", control.start_mutator, "control"),
    ("DELETE", r"/_sim/mutator", control.stop_mutator, "control"),
    ("POST", r"/_sim/mutator/step", control.mutate_now, "control"),
    ("POST", r"/_sim/reset", control.reset, "control"),
    ("GET", r"/_sim/stats", control.stats, "control"),
    ("GET", r"/_sim/client-request-ids", control.client_request_ids, "control"),
    ("POST", r"/_sim/apps", control.register_app, "control"),
    ("POST", r"/_sim/users", control.add_user, "control"),
    ("PUT", r"/_sim/signin-fault", control.set_signin_fault, "control"),
    ("PUT", r"/_sim/graph-audit", control.set_graph_audit, "control"),
    ("GET", r"/subscriptions", arm.list_subscriptions, "arm.subscriptions"),
    (
        "POST",
        r"/providers/Microsoft\.ResourceGraph/resources",
        resourcegraph.query_resources,
        "graph.resources",
    ),
    (
        "GET",
        r"/subscriptions/(?P<subscription>[^/]+)/providers/Microsoft\.Insights/eventtypes/"
        r"management/values",
        arm.list_activity_events,
        "arm.activitylog",
    ),
    ("GET", r"/v1\.0/auditLogs/directoryAudits", msgraph.directory_audits, "graph.audits"),
    ("GET", r"/v1\.0/auditLogs/signIns", msgraph.sign_ins, "graph.signins"),
    (
        "GET",
        r"/(?P<tenant>[^/_][^/]*)/v2\.0/\.well-known/openid-configuration",
        identity.openid_configuration,
        "identity.metadata",
    ),
    ("POST", r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/token", identity.token, "identity.token"),
    ("GET", r"/(?P<tenant>[^/_][^/]*)/discovery/v2\.0/keys", identity.jwks, "identity.keys"),
    # Browser sign-in (authorization code flow) will be served here in a later issue.
    (
        "GET",
        r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/authorize",
        identity.authorize,
        "identity.authorize",
    ),
    (
        "POST",
        r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/authorize",
        identity.authorize,
        "identity.authorize",
    ),
]

ROUTES = [
    (method, re.compile(pattern + r"/?", re.IGNORECASE), handler, name)
    for method, pattern, handler, name in _ROUTES
]


def dispatch(state: SimState, req: SimRequest) -> SimResponse:
    """Route one request to its handler; 404/405 and handler errors become Azure-shaped JSON."""
    allowed: list[str] = []
    for method, pattern, handler, name in ROUTES:
        match = pattern.fullmatch(req.path)
        if not match:
            continue
        if method != req.method:
            allowed.append(method)
            continue
        state.requests[name] += 1
        try:
            return handler(state, req, **match.groupdict())
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": {"code": "BadRequest", "message": str(exc)}})
    if allowed:
        return arm_error(405, "MethodNotAllowed", f"Use {', '.join(allowed)} for {req.path}.")
    return arm_error(404, "NotFound", f"The simulator does not serve {req.method} {req.path}.")


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "azuresim/0.1"
    sys_version = ""
    timeout = 300
    server: _TlsServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = SimRequest(
            method=self.command,
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            client_ip=self.client_address[0],
        )
        correlation = self.headers.get("x-ms-client-request-id") or self.headers.get(
            "client-request-id"
        )
        if correlation:
            self.server.state.client_request_ids.append(correlation)
        try:
            resp = dispatch(self.server.state, req)
        except Exception:  # a simulator bug must still answer, as Azure would, with a 500
            log.exception("unhandled error for %s %s", req.method, req.path)
            resp = arm_error(500, "InternalServerError", "The simulator failed unexpectedly.")
        self._write(resp)

    def _write(self, resp: SimResponse) -> None:
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, state: SimState):
        self.ssl_context = context
        self.state = state
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshake on the worker thread, so a slow client cannot stall accept()."""
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()


class SimServer:
    """A running simulator: ``base_url``, ``ca_path``, ``state``, and :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path | None = None,
        options: SimOptions | None = None,
    ) -> None:
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="azuresim-"))
        self.state = SimState(options)
        tls = prepare_tls(self.state_dir, [host])
        self.ca_path = tls.ca_path
        self._httpd = _TlsServer((host, port), tls.context, self.state)
        bound_port = self._httpd.server_address[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        self.base_url = f"https://{shown}:{bound_port}"
        self.port = bound_port
        self._thread: threading.Thread | None = None

    def write_info(self) -> Path:
        """Write ``sim.json`` (base_url, ca_path) into the state dir for other processes."""
        path = self.state_dir / "sim.json"
        path.write_text(json.dumps({"base_url": self.base_url, "ca_path": str(self.ca_path)}))
        return path

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop`."""
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> SimServer:
        """Serve on a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="azuresim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop the mutator and close the socket."""
        if self.state.mutator is not None:
            self.state.mutator.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    state_dir: str | Path | None = None,
    options: SimOptions | None = None,
    config: dict[str, Any] | None = None,
) -> SimServer:
    """Start a simulator on a background thread (port 0 picks a free port).

    ``config`` has the same shape as the ``--config`` file (tenants, mutator, options).
    """
    if config:
        merged = {**(config.get("options") or {})}
        options = options or SimOptions.from_dict(merged)
    server = SimServer(host, port, state_dir, options).start()
    if config:
        apply_config(server.state, config)
    return server
