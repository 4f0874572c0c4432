"""``python -m azuresim [--host H] [--port N] [--state-dir DIR] [--config FILE.json]
[--throttling MODE] [--activity-lag SECONDS] [--changes-lag SECONDS]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from .config import apply_config, load_config
from .server import SimServer
from .state import SimOptions


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    parser = argparse.ArgumentParser(prog="azuresim", description="Local Azure simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--state-dir", default="var/azuresim", type=Path)
    parser.add_argument("--config", type=Path, help="JSON file with options, tenants, mutator")
    parser.add_argument(
        "--throttling", choices=["off", "headers", "enforce"], help="overrides the config"
    )
    parser.add_argument(
        "--activity-lag",
        type=float,
        help="seconds before an Activity Log event can be queried (default 15; overrides the "
        "config)",
    )
    parser.add_argument(
        "--changes-lag",
        type=float,
        help="seconds before a change row can be queried in Resource Graph's resourcechanges "
        "table (default 0; overrides the config)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    config = load_config(args.config) if args.config else {}
    options = SimOptions.from_dict({"throttling": "enforce", **(config.get("options") or {})})
    if args.throttling:
        options.throttling = args.throttling
    if args.activity_lag is not None:
        options.activity_lag = max(0.0, args.activity_lag)
    if args.changes_lag is not None:
        options.changes_lag = max(0.0, args.changes_lag)
    server = SimServer(args.host, args.port, args.state_dir, options)
    apply_config(server.state, config)
    info = server.write_info()
    print(f"azuresim listening on {server.base_url}", flush=True)
    print(f"CA certificate: {server.ca_path} (details in {info})", flush=True)
    for estate in server.state.estates():
        spec = estate.spec
        print(f"  tenant {spec.name}: {spec.tenant_id} client {spec.client_id}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server.state.mutator is not None:
            server.state.mutator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
