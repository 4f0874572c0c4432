"""The SSRF guard for user-supplied URLs, and one guarded HTTP POST (pure: no Django).

A URL is resolved once; every address it resolves to must be public (not private,
loopback, link-local, CGNAT, multicast, reserved, unspecified, nor the Azure metadata
and wire-server addresses), IPv4-mapped and 6to4 IPv6 forms included. Decimal and hex
host forms (``2130706433``, ``0x7f000001``) resolve to the address they mean and are
judged by it. The request then connects to the checked address (so DNS cannot change
its answer in between), sends the host name for TLS and the Host header, follows no
redirect, and reads a bounded answer. Plain http and non-public addresses are allowed
only inside an explicit allow-list of networks (the demo and tests use loopback).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Addresses refused even though Python calls them global.
ALWAYS_BLOCKED = (
    ipaddress.ip_network("168.63.129.16/32"),  # Azure wire server
    ipaddress.ip_network("169.254.169.254/32"),  # instance metadata
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT
)


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard, with the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Answer:
    """What the receiver said (bounded), or the error that stopped the request."""

    status: int | None
    body: bytes
    headers: dict[str, str]
    latency_ms: int
    error: str = ""
    truncated: bool = False


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Allow-list entries (``127.0.0.0/8``, ``::1``) as networks; raises ValueError if invalid."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def _blocked_reason(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return _blocked_reason(embedded)
    for net in ALWAYS_BLOCKED:
        if address.version == net.version and address in net:
            return f"{address} is a blocked address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_private or address.is_reserved or address.is_unspecified:
        return f"{address} is a private or reserved address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def _allowed(address: IPAddress, allow: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in allow)


def check_url(url: str, *, allow: Sequence[Network] = ()) -> Target:
    """Resolve ``url`` and return the address to connect to, or raise UnsafeURL saying why."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeURL("the URL must start with https://")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host name")
    if parts.username or parts.password:
        raise UnsafeURL("credentials in the URL are not allowed")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {parts.hostname}: {exc}") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"{parts.hostname} resolves to no address")
    allowed = all(_allowed(a, allow) for a in addresses)
    if not allowed:
        for address in addresses:
            reason = _blocked_reason(address)
            if reason:
                raise UnsafeURL(f"{parts.hostname} resolves to a refused target: {reason}")
        if parts.scheme != "https":
            raise UnsafeURL("the URL must use https://")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, parts.hostname, port, path, str(addresses[0]))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    max_body: int,
    ca_bundle: str | None = None,
) -> Answer:
    """POST ``body`` to a checked target; never follows redirects; reads at most ``max_body``.

    ``timeout`` bounds the whole exchange (connect, send, headers and body).
    """
    started = time.monotonic()
    deadline = started + timeout
    if target.scheme == "https":
        context = ssl.create_default_context(cafile=ca_bundle)
        conn: http.client.HTTPConnection = _PinnedHTTPSConnection(target, timeout, context)
    else:
        conn = _PinnedHTTPConnection(target, timeout)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        chunks: list[bytes] = []
        size = 0
        truncated = False
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the answer took longer than {timeout:g} s")
            if conn.sock is not None:
                conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = response.read(min(65536, max_body - size + 1))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_body:
                truncated = True
                break
        data = b"".join(chunks)[:max_body]
        return Answer(
            status=response.status,
            body=data,
            headers={k.lower(): v for k, v in response.getheaders()},
            latency_ms=elapsed(),
            truncated=truncated,
        )
    except ssl.SSLError as exc:
        return Answer(None, b"", {}, elapsed(), error=f"TLS error: {exc}")
    except TimeoutError as exc:
        return Answer(None, b"", {}, elapsed(), error=f"timed out: {exc or 'no answer'}")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, b"", {}, elapsed(), error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
