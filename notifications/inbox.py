"""A local inbox for the demo, the tests and the benchmark (pure: no Django).

One SMTP receiver (aiosmtpd) and one HTTP receiver on loopback keep every message they
get; ``GET /`` on the HTTP port lists them newest first (email, Slack, Teams, webhook),
``GET /messages.json`` returns them as JSON. Like a receiver that honours Standard
Webhooks, a repeated ``webhook-id`` (or email Message-ID) is answered 200 and counted as
a redelivery, not kept twice. Tests script answers per path (status, headers, body,
delay, redirects) with ``Inbox.script``.

    python -m notifications.inbox --http-port 8025 --smtp-port 1025
"""

from __future__ import annotations

import argparse
import html
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Reply:
    """A scripted answer: status, headers, body, and a delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


def _kind_of(path: str, headers: dict[str, str]) -> str:
    if "webhook-id" in headers:
        return "webhook"
    for kind in ("slack", "teams", "pagerduty"):
        if kind in path:
            return kind
    return "http"


class Inbox:
    """The messages received so far, with the redelivery count per id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.seen_ids: dict[str, int] = {}
        self.requests = 0
        self.script: dict[str, list[Reply] | Callable[[], Reply]] = {}
        self.generation = 0  # bumped by clear(): requests begun before it are not kept
        self.on_message: Callable[[dict[str, Any]], None] | None = None

    def reply_for(self, path: str) -> Reply:
        with self.lock:
            scripted = self.script.get(path)
            if callable(scripted):
                return scripted()
            if scripted:
                return scripted.pop(0) if len(scripted) > 1 else scripted[0]
        return Reply()

    def keep(self, message: dict[str, Any], generation: int | None = None) -> bool:
        """Keep a message unless its id was seen (then count a redelivery); True if kept."""
        with self.lock:
            if generation is not None and generation != self.generation:
                return False
            key = message.get("id") or ""
            if key and key in self.seen_ids:
                self.seen_ids[key] += 1
                return False
            if key:
                self.seen_ids[key] = 0
            message["received_at"] = time.time()
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)
        return True

    def redeliveries(self) -> int:
        with self.lock:
            return sum(self.seen_ids.values())

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["kind"] == kind]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.seen_ids.clear()
            self.script.clear()
            self.requests = 0
            self.generation += 1


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with inbox.lock:
                inbox.requests += 1
                generation = inbox.generation
            reply = inbox.reply_for(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if 200 <= reply.status < 300:
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                inbox.keep(
                    {
                        "kind": _kind_of(self.path, headers),
                        "id": headers.get("webhook-id", ""),
                        "path": self.path,
                        "headers": headers,
                        "body": body,
                    },
                    generation,
                )
            self._answer(reply)

        def _answer(self, reply: Reply) -> None:
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:
            with inbox.lock:
                items = list(reversed(inbox.messages))
            if self.path.startswith("/messages.json"):
                body = json.dumps(items, default=str).encode()
                ctype = "application/json"
            else:
                body = _page(items).encode()
                ctype = "text/html; charset=utf-8"
            self._answer(Reply(200, {"Content-Type": ctype}, body))

    return Handler


def _page(items: list[dict[str, Any]]) -> str:
    rows = []
    for m in items:
        when = time.strftime("%H:%M:%S", time.localtime(m["received_at"]))
        if m["kind"] == "email":
            summary = f"<b>{html.escape(m['subject'])}</b><pre>{html.escape(m['text'])}</pre>"
        else:
            pretty = json.dumps(m["body"], indent=2)[:6000]
            summary = f"<code>{html.escape(m['path'])}</code><pre>{html.escape(pretty)}</pre>"
        rows.append(f"<tr><td>{when}</td><td>{m['kind']}</td><td>{summary}</td></tr>")
    return (
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
        "<title>Drift Detector demo inbox</title><h1>Demo inbox</h1>"
        f"<p>{len(items)} messages (email, Slack, Teams, webhook), newest first; "
        "refreshes every 5 s."
        "</p><table border=1 cellpadding=4><tr><th>received</th><th>kind</th><th>message</th></tr>"
        + "".join(rows)
        + "</table>"
    )


class _SmtpHandler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(("plain",))
        self.inbox.keep(
            {
                "kind": "email",
                "id": str(mail.get("Message-ID", "")),
                "path": "",
                "headers": {},
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(mail.get("Subject", "")),
                "text": body.get_content() if body else "",
                "body": None,
            }
        )
        return "250 Message accepted for delivery"


@dataclass
class RunningInbox:
    inbox: Inbox
    http_port: int
    smtp_port: int
    _http: ThreadingHTTPServer
    _smtp: Controller

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._smtp.stop()


def start(*, host: str = "127.0.0.1", http_port: int = 0, smtp_port: int = 0) -> RunningInbox:
    """Start both receivers on background threads (port 0 picks a free port)."""
    inbox = Inbox()
    server = ThreadingHTTPServer((host, http_port), _handler(inbox))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if not smtp_port:
        import socket

        with socket.socket() as probe:
            probe.bind((host, 0))
            smtp_port = probe.getsockname()[1]
    controller = Controller(_SmtpHandler(inbox), hostname=host, port=smtp_port)
    controller.start()
    return RunningInbox(inbox, server.server_address[1], smtp_port, server, controller)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=1025)
    args = parser.parse_args()
    running = start(host=args.host, http_port=args.http_port, smtp_port=args.smtp_port)
    print(f"demo inbox: {running.url}/ (SMTP on {args.host}:{running.smtp_port})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
