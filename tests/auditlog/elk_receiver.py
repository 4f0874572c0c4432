"""A loopback Elasticsearch ``_bulk`` endpoint for tests and benchmarks.

It answers as Elasticsearch 8/9 does: the ``X-Elastic-Product: Elasticsearch`` header on
every answer, per-item results in ``items`` with ``errors`` set when any item failed,
409 ``version_conflict_engine_exception`` for a ``create`` of an existing ``_id``, 400
``document_parsing_exception`` for a value its mapping cannot take (``source.ip`` is an
``ip`` field), and, when told to, whole-request 429/500 or per-item 429
(``es_rejected_execution_exception``), or no answer at all (stopped).
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ElkReceiver:
    """Stores documents by ``_id``; ``received`` holds (arrival time, _id, document)."""

    def __init__(self, port: int = 0) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.arrivals: dict[str, float] = {}
        self.requests = 0
        self.conflicts = 0
        self.created = 0
        self.whole_status: int | None = None  # answer every _bulk with this status
        self.item_429 = 0  # the next N items answer 429
        self.lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> ElkReceiver:
        """Listen (again, on the same port after a stop)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(
                    200,
                    {
                        "name": "loopback",
                        "cluster_name": "test",
                        "version": {"number": "8.15.0", "build_flavor": "default"},
                        "tagline": "You Know, for Search",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not self.path.split("?")[0].endswith("/_bulk"):
                    self._send(404, {"error": "no handler", "status": 404})
                    return
                if self.headers.get("Content-Type", "").split(";")[0] not in (
                    "application/x-ndjson",
                    "application/json",
                ):
                    self._send(406, {"error": "Content-Type header is not supported"})
                    return
                status, body = receiver.bulk(raw)
                self._send(status, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering (connections are refused until :meth:`start`)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bulk(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Apply one ``_bulk`` body; the status and the body to answer."""
        with self.lock:
            self.requests += 1
            if self.whole_status is not None:
                kind = (
                    "es_rejected_execution_exception"
                    if self.whole_status == 429
                    else "internal_server_error"
                )
                error = {"root_cause": [{"type": kind, "reason": "simulated"}], "type": kind}
                return self.whole_status, {"error": error, "status": self.whole_status}
        lines = [line for line in raw.decode().split("\n") if line.strip()]
        if len(lines) % 2:
            return 400, {"error": {"type": "illegal_argument_exception"}, "status": 400}
        started = time.monotonic()
        items: list[dict[str, Any]] = []
        now = time.time()
        with self.lock:
            for action_line, source_line in zip(lines[::2], lines[1::2], strict=True):
                action = json.loads(action_line)["create"]
                doc_id, index = action["_id"], action["_index"]
                result: dict[str, Any] = {"_index": index, "_id": doc_id}
                doc = json.loads(source_line)
                if self.item_429 > 0:
                    self.item_429 -= 1
                    result |= {"status": 429, "error": _error("es_rejected_execution_exception")}
                elif (problem := _mapping_problem(doc)) is not None:
                    result |= {
                        "status": 400,
                        "error": _error("document_parsing_exception", problem),
                    }
                elif doc_id in self.docs:
                    self.conflicts += 1
                    reason = f"[{doc_id}]: version conflict, document already exists"
                    result |= {
                        "status": 409,
                        "error": _error("version_conflict_engine_exception", reason),
                    }
                else:
                    self.docs[doc_id] = doc
                    self.created += 1
                    self.arrivals[doc_id] = now
                    result |= {"_version": 1, "result": "created", "status": 201}
                items.append({"create": result})
        errors = any(item["create"]["status"] >= 300 for item in items)
        took = int((time.monotonic() - started) * 1000)
        return 200, {"took": took, "errors": errors, "items": items}


def _error(kind: str, reason: str = "simulated") -> dict[str, Any]:
    return {"type": kind, "reason": reason}


def _mapping_problem(doc: dict[str, Any]) -> str | None:
    ip = (doc.get("source") or {}).get("ip")
    if ip is not None:
        try:
            ipaddress.ip_address(str(ip))
        except ValueError:
            return (
                f"[1:20] failed to parse field [source.ip] of type [ip] in document: "
                f"'{ip}' is not an IP string literal."
            )
    if not isinstance(doc.get("@timestamp"), str):
        return "[1:1] failed to parse field [@timestamp] of type [date]"
    return None
