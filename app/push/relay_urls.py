"""Checking a URL we will POST to later: a push relay URL that a phone sent us
(PassWallet's ``pushServiceUrl``) or a webhook receiver a staff user typed.

Without checks either would let someone make our workers call addresses inside the
chain's network.
Production accepts https only, to public addresses; development and tests also
accept plain http and loopback, where the fake relays run.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL = 512


class OutboundUrlError(ValueError):
    """The URL is refused; the message says why (naming the field it came from)."""


RelayUrlError = OutboundUrlError  # the name the push relay callers know


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
    """The relay URL, normalised without a trailing slash, or RelayUrlError."""
    checked = check_outbound_url(url, production=production, resolve=resolve)
    return checked.rstrip("/")


def check_outbound_url(
    url: str,
    *,
    production: bool,
    resolve: bool = True,
    what: str = "pushServiceUrl",
    allow_query: bool = False,
) -> str:
    """The URL unchanged, or OutboundUrlError whose message starts with ``what``."""
    if len(url) > MAX_URL:
        raise OutboundUrlError(f"{what} is longer than {MAX_URL} characters")
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise OutboundUrlError(f"{what} must use {' or '.join(allowed)}")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise OutboundUrlError(f"{what} has an invalid port") from None
    if not parts.hostname or parts.username or parts.password:
        raise OutboundUrlError(f"{what} must name a host and carry no credentials")
    if (parts.query and not allow_query) or parts.fragment:
        raise OutboundUrlError(f"{what} must not carry a query or fragment")
    if production:
        host = parts.hostname
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                raise OutboundUrlError(f"{what} must be a public host") from None
            addresses = _resolve(host, parts.port or 443, what) if resolve else []
        for address in addresses:
            refused = _refused_address(address)
            if refused:
                raise OutboundUrlError(f"{what} points to {refused} address")
    return url


def checked_address(
    url: str, *, production: bool, what: str = "pushServiceUrl", allow_query: bool = False
) -> str | None:
    """Check the URL again at send time (DNS may have changed since registration) and
    return the address to connect to in production, so the name cannot resolve to a
    private address between this check and the connection; None outside production."""
    check_outbound_url(url, production=production, what=what, allow_query=allow_query)
    if not production:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        addresses = _resolve(host, parts.port or 443, what)
    for address in addresses:  # the check above refused any non-public one
        if _refused_address(address) is None:
            return str(address)
    raise OutboundUrlError(f"{what} names a host that does not resolve")


def _resolve(
    host: str, port: int, what: str
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise OutboundUrlError(f"{what} names a host that does not resolve") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]
