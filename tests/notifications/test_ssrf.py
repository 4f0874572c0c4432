"""The SSRF guard: every refused kind of address, in every spelling, and the allow-list."""

from __future__ import annotations

import pytest

from notifications import ssrf

LOOPBACK = ssrf.parse_networks(["127.0.0.0/8"])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://2130706433/hook", "loopback"),  # decimal 127.0.0.1
        ("https://0x7f000001/hook", "loopback"),  # hex 127.0.0.1
        ("https://0177.0.0.1/hook", "loopback"),  # octal
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped IPv6
        ("https://[::ffff:a9fe:a9fe]/hook", "blocked"),  # mapped metadata address
        ("https://169.254.169.254/metadata", "blocked"),
        ("https://168.63.129.16/", "blocked"),  # Azure wire server (a "global" address)
        ("https://100.64.0.1/", "blocked"),  # CGNAT
        ("https://10.1.2.3/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://[fd00::1]/", "private"),
        ("https://[fe80::1]/", "link-local"),
        ("https://169.254.1.1/", "link-local"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://0.0.0.0/", "private or reserved"),
        ("https://[2002:7f00:1::]/", "loopback"),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_refuses_non_public_targets(url, reason):
    with pytest.raises(ssrf.UnsafeURL, match=reason):
        ssrf.check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "https://"),
        ("https:///nohost", "no host"),
        ("https://user:pw@8.8.8.8/", "credentials"),
        ("https://8.8.8.8:99999/", "not a valid URL"),
        ("http://8.8.8.8/hook", "must use https"),
        ("https://no-such-host.invalid/hook", "cannot resolve"),
        ("not a url", "https://"),
    ],
)
def test_refuses_invalid_urls_with_a_clear_reason(url, message):
    with pytest.raises(ssrf.UnsafeURL, match=message):
        ssrf.check_url(url)


def test_a_public_https_address_passes_and_is_pinned():
    target = ssrf.check_url("https://8.8.8.8:8443/a/b?c=1")
    assert (target.address, target.port, target.path, target.host) == (
        "8.8.8.8",
        8443,
        "/a/b?c=1",
        "8.8.8.8",
    )


def test_the_allow_list_lets_loopback_and_plain_http_through_and_nothing_else():
    target = ssrf.check_url("http://127.0.0.1:8025/slack", allow=LOOPBACK)
    assert target.address == "127.0.0.1" and target.scheme == "http"
    with pytest.raises(ssrf.UnsafeURL, match="blocked"):
        ssrf.check_url("https://169.254.169.254/", allow=LOOPBACK)
    with pytest.raises(ssrf.UnsafeURL, match="must use https"):
        ssrf.check_url("http://8.8.8.8/", allow=LOOPBACK)


def test_invalid_allow_list_entries_are_an_error():
    with pytest.raises(ValueError):
        ssrf.parse_networks(["not-a-network"])
