"""Checking a push relay URL that a phone sent us (PassWallet's ``pushServiceUrl``).

The URL comes from the internet and we will POST to it later: without checks it
would let anyone make our workers call addresses inside the chain's network.
Production accepts https only, to public addresses; development and tests also
accept plain http and loopback, where the fake relays run.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL = 512


class RelayUrlError(ValueError):
    """The push service URL is refused; the message says why."""


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _refused_address(address.ipv4_mapped)
    for test, what in (
        (address.is_unspecified, "an unspecified"),
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (address.is_private, "a private"),
        (address.is_reserved, "a reserved"),
        (not address.is_global, "a non-public"),
    ):
        if test:
            return what
    return None


def check_push_service_url(url: str, *, production: bool, resolve: bool = True) -> str:
    """The URL, normalised without a trailing slash, or RelayUrlError."""
    if len(url) > MAX_URL:
        raise RelayUrlError(f"pushServiceUrl is longer than {MAX_URL} characters")
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise RelayUrlError(f"pushServiceUrl must use {' or '.join(allowed)}")
    if not parts.hostname or parts.username or parts.password:
        raise RelayUrlError("pushServiceUrl must name a host and carry no credentials")
    if parts.query or parts.fragment:
        raise RelayUrlError("pushServiceUrl must not carry a query or fragment")
    if production:
        host = parts.hostname
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                raise RelayUrlError("pushServiceUrl must be a public host") from None
            addresses = _resolve(host, parts.port or 443) if resolve else []
        for address in addresses:
            refused = _refused_address(address)
            if refused:
                raise RelayUrlError(f"pushServiceUrl points to {refused} address")
    return url.rstrip("/")


def checked_address(url: str, *, production: bool) -> str | None:
    """Check the URL again at send time (DNS may have changed since registration) and
    return the address to connect to in production, so the name cannot resolve to a
    private address between this check and the connection; None outside production."""
    check_push_service_url(url, production=production)
    if not production:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        addresses = _resolve(host, parts.port or 443)
    for address in addresses:  # the check above refused any non-public one
        if _refused_address(address) is None:
            return str(address)
    raise RelayUrlError("pushServiceUrl names a host that does not resolve")


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise RelayUrlError("pushServiceUrl names a host that does not resolve") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]
