"""TLS material for the simulator: a local CA (reused across runs) and a server certificate."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


@dataclass
class TlsMaterial:
    """Where the CA lives and the server-side SSL context that uses the issued certificate."""

    ca_path: Path
    context: ssl.SSLContext


def _load_or_create_ca(state_dir: Path) -> trustme.CA:
    cert_path, key_path = state_dir / CA_FILE, state_dir / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name="azuresim local CA")
    key_path.write_bytes(ca.private_key_pem.bytes())
    os.chmod(key_path, 0o600)
    ca.cert_pem.write_to_path(str(cert_path))
    return ca


def _identities(hosts: list[str]) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    for host in hosts:
        if host and host not in names and host not in ("0.0.0.0", "::"):  # noqa: S104
            try:
                names.append(str(ipaddress.ip_address(host)))
            except ValueError:
                names.append(host)
    return names


def prepare_tls(state_dir: Path, hosts: list[str]) -> TlsMaterial:
    """Create (or reuse) the CA in ``state_dir`` and a server context valid for ``hosts``.

    Clients trust the simulator by passing ``connection_verify=<state_dir>/ca.pem``.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    ca = _load_or_create_ca(state_dir)
    leaf = ca.issue_cert(*_identities(hosts), common_name="azuresim")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return TlsMaterial(ca_path=state_dir / CA_FILE, context=context)
