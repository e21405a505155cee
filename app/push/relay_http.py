"""A small blocking HTTP/1.1 client for the push relays: keep-alive connections per host,
reused across calls and threads, optionally pinned to an address checked beforehand
(so a relay URL from a phone cannot be re-resolved to a private address after its check)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

_Key = tuple[str, str, int, str | None]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class RelayHttp:
    """Thread-safe: each call takes an idle connection (or opens one) and gives it back."""

    def __init__(self, *, timeout: float = 10.0, ca_file: str | None = None) -> None:
        self.timeout = timeout
        self._ssl = ssl.create_default_context(cafile=ca_file)
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, pin: str | None = None
    ) -> Answer:
        """POST and read the whole answer; OSError/HTTPException when no answer came."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key: _Key = (scheme, host, port, pin)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        all_headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
        conn = self._take(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._open(key)
            try:
                conn.request("POST", path, body, all_headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                if reused:  # the relay closed an idle keep-alive connection: a fresh one
                    reused, conn = False, None
                    continue
                raise
            if response.will_close:
                conn.close()
            else:
                self._give(key, conn)
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def _open(self, key: _Key) -> http.client.HTTPConnection:
        scheme, host, port, pin = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        if pin is not None:  # connect to the checked address; TLS still verifies the name
            address = pin

            def connect(_addr: tuple[str, int], *args: Any, **kw: Any) -> socket.socket:
                return socket.create_connection((address, port), *args, **kw)

            conn._create_connection = connect  # type: ignore[attr-defined]
        return conn

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
