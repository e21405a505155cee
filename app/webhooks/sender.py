"""POSTing one signed delivery to a receiver: one connection per request, a timeout on
every socket operation, redirects not followed, at most a short excerpt of the answer read.
In production the URL is checked again and the connection pinned to the checked
address, so a name cannot be re-resolved to a private address after the check."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.push.relay_urls import OutboundUrlError, checked_address
from app.webhooks import rules

USER_AGENT = "walletpass-webhooks/1"
_READ_LIMIT = 1024


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Answer:
    delivery_id: int
    status: int | None  # None: no HTTP answer (refused, timed out, URL refused)
    error: str | None = None
    excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    def __init__(
        self,
        *,
        production: bool,
        timeout: float = rules.TIMEOUT_SECONDS,
        ca_file: str | None = None,
        now: Callable[[], float] = time.time,  # receivers check the signed time against theirs
    ) -> None:
        self.production, self.timeout, self.now = production, timeout, now
        self._ssl = ssl.create_default_context(cafile=ca_file)

    def send(self, item: Outgoing) -> Answer:
        try:
            pin = checked_address(
                item.url, production=self.production, what="the webhook URL", allow_query=True
            )
        except OutboundUrlError as exc:
            return Answer(item.delivery_id, None, str(exc))
        timestamp = int(self.now())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Walletpass-Event": item.event_type,
            "Walletpass-Event-Id": item.event_id,
            rules.SIGNATURE_HEADER: rules.signature(item.secret, timestamp, item.body),
        }
        parts = urlsplit(item.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.hostname or "", parts.port, pin)
        try:
            conn.request("POST", path, item.body, headers)
            response = conn.getresponse()
            data = response.read(_READ_LIMIT)
        except TimeoutError:
            return Answer(item.delivery_id, None, f"no answer within {self.timeout:g} s")
        except (OSError, http.client.HTTPException) as exc:
            return Answer(item.delivery_id, None, _describe(exc))
        finally:
            conn.close()
        return Answer(item.delivery_id, response.status, None, rules.excerpt(data))

    def _connection(
        self, scheme: str, host: str, port: int | None, pin: str | None
    ) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        if pin is not None:  # connect to the checked address; TLS still verifies the name
            address, real_port = pin, port or (443 if scheme == "https" else 80)

            def connect(_addr: tuple[str, int], *args: Any, **kw: Any) -> socket.socket:
                return socket.create_connection((address, real_port), *args, **kw)

            conn._create_connection = connect  # type: ignore[attr-defined]
        return conn


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc.__class__.__name__}"
    if isinstance(exc, socket.gaierror):
        return "the host does not resolve"
    return (f"{exc.__class__.__name__}: {exc}")[:200]
