"""APNs client for Wallet pass updates: one empty ``{}`` push per device token.

HTTP/2 on ``h2`` over asyncio: a few long-lived TLS connections with many streams
each (never more than the server's SETTINGS_MAX_CONCURRENT_STREAMS), received DATA
acknowledged so error bodies never close the flow-control window, a timeout per
request, retries with backoff, GOAWAY handling. ``ApnsSender`` wraps the client for
synchronous callers with an event-loop thread of its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.exceptions import H2Error
from hpack import NeverIndexedHeaderTuple

from app.push.apns.config import ApnsConfig, ApnsConfigError
from app.push.apns.connection import ConfigFailure, Pool, Retry, backoff, parse_error
from app.push.apns.provider_token import ProviderToken

__all__ = [
    "ApnsClient",
    "ApnsConfig",
    "ApnsConfigError",
    "ApnsSender",
    "PushOutcome",
    "PushResult",
    "classify",
    "parse_error",
    "probe",
    "short",
]

log = logging.getLogger(__name__)

_BODY = b"{}"
_TOKEN = re.compile(r"[0-9A-Fa-f]{16,200}")
_BAD_TOKEN = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
_BAD_TOPIC = frozenset({"BadTopic", "MissingTopic", "TopicDisallowed"})  # every push would fail
_FREE_RESENDS = 50  # resends of pushes APNs surely did not process (GOAWAY-refused)


class PushOutcome(StrEnum):
    ACCEPTED = "accepted"  # 200
    UNREGISTERED = "unregistered"  # 410: prune unless re-registered after .timestamp
    BAD_TOKEN = "bad_token"  # noqa: S105 - 400 BadDeviceToken/DeviceTokenNotForTopic: drop
    CONFIG_ERROR = "config_error"  # 403s, wrong topic, TLS refused: stop sending, alarm
    REJECTED = "rejected"  # other 4xx: our bug, logged, not retried
    FAILED = "failed"  # gave up after retries (429/5xx/timeouts/connection loss)


_LOUD = frozenset({PushOutcome.CONFIG_ERROR, PushOutcome.REJECTED, PushOutcome.FAILED})


@dataclass(frozen=True)
class PushResult:
    token: str
    outcome: PushOutcome
    status: int | None
    reason: str | None
    timestamp_ms: int | None


def short(token: str) -> str:
    """A token as logs may show it."""
    return token[:8] + "…"


def classify(status: int, reason: str | None) -> PushOutcome | None:
    """What an APNs answer means for the token; None when the push should be retried."""
    if status == 200:
        return PushOutcome.ACCEPTED
    if status == 410:
        return PushOutcome.UNREGISTERED
    if status == 400 and reason in _BAD_TOKEN:
        return PushOutcome.BAD_TOKEN
    if status == 403 or (status == 400 and reason in _BAD_TOPIC):
        return PushOutcome.CONFIG_ERROR
    if status == 429 or status >= 500:
        return None
    return PushOutcome.REJECTED


def _ssl_context(config: ApnsConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["h2"])
    try:
        if config.ca_file:
            ctx.load_verify_locations(cafile=str(config.ca_file))
        if config.auth == "cert" and config.client_cert:
            ctx.load_cert_chain(config.client_cert, config.client_key)
    except (OSError, ssl.SSLError) as exc:
        raise ApnsConfigError(f"cannot load the APNs TLS certificate or CA: {exc}") from None
    return ctx


def probe(config: ApnsConfig, timeout: float = 10.0) -> str:
    """Connect as pushes do (TLS, client certificate, ALPN h2), wait for the server's
    HTTP/2 SETTINGS and close: no push is sent. Under TLS 1.3 a refused client
    certificate only shows after the handshake, hence the wait. Returns what was
    negotiated; raises ApnsConfigError (or OSError for network trouble)."""
    if config.auth == "token":
        assert config.key_file and config.key_id and config.team_id
        try:
            ProviderToken.from_file(config.key_file, config.key_id, config.team_id)
        except ValueError as exc:
            raise ApnsConfigError(str(exc)) from None
    ctx = _ssl_context(config)
    with (
        socket.create_connection((config.host, config.port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=config.host) as tls,
    ):
        alpn = tls.selected_alpn_protocol()
        if alpn != "h2":
            raise ApnsConfigError(f"the server did not agree to HTTP/2 (ALPN {alpn})")
        conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        settled = False
        while not settled:
            data = tls.recv(65536)
            if not data:
                hint = ": was the client certificate refused?" if config.auth == "cert" else ""
                raise ApnsConfigError(
                    f"the server closed the connection after the TLS handshake{hint}"
                )
            try:
                events = conn.receive_data(data)
            except H2Error as exc:
                raise ApnsConfigError(f"HTTP/2 protocol error from the server: {exc}") from None
            for event in events:
                if isinstance(event, ev.ConnectionTerminated):
                    raise ApnsConfigError(f"the server sent GOAWAY ({event.error_code!r})")
                settled = settled or isinstance(event, ev.RemoteSettingsChanged)
        conn.close_connection()
        tls.sendall(conn.data_to_send())
        version = tls.version()
    auth = "client certificate accepted" if config.auth == "cert" else "token auth"
    return f"{version} with ALPN h2 to {config.host}:{config.port}, {auth}"


@dataclass
class _Batch:
    tail: list[tuple[bytes, bytes]]
    stop: str | None = None  # the CONFIG_ERROR reason that ends the batch
    logged: set[PushOutcome] = field(default_factory=set)


class ApnsClient:
    """Sends empty pushes to device tokens; use from one event loop."""

    def __init__(self, config: ApnsConfig) -> None:
        self.config = config
        self._pool = Pool(config, _ssl_context(config))
        self._jwt: ProviderToken | None = None
        if config.auth == "token":
            assert config.key_file and config.key_id and config.team_id
            try:
                self._jwt = ProviderToken.from_file(config.key_file, config.key_id, config.team_id)
            except ValueError as exc:
                raise ApnsConfigError(str(exc)) from None
        port = "" if config.port == 443 else f":{config.port}"
        self._authority = f"{config.host}{port}".encode()

    async def __aenter__(self) -> ApnsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(
        self,
        tokens: Sequence[str],
        *,
        priority: int = 5,
        expiration: int = 0,
        collapse_id: str | None = None,
    ) -> list[PushResult]:
        """One push per token, concurrently; results in the order of ``tokens``."""
        if priority not in (5, 10):
            raise ValueError("apns-priority must be 5 or 10")
        tail = [
            (b"apns-topic", self.config.topic.encode()),
            (b"apns-priority", str(priority).encode()),
            (b"apns-expiration", str(int(expiration)).encode()),
        ]
        if collapse_id is not None:
            if len(collapse_id.encode()) > 64:
                raise ValueError("apns-collapse-id must be at most 64 bytes")
            tail.append((b"apns-collapse-id", collapse_id.encode()))
        batch = _Batch(tail)
        results: list[PushResult | None] = [None] * len(tokens)
        pending = iter(enumerate(tokens))

        async def worker() -> None:
            for i, token in pending:
                results[i] = await self._push(token, batch)

        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for _ in range(min(len(tokens), self.config.connections * self.config.max_streams)):
                group.create_task(worker())
        done = [r for r in results if r is not None]
        assert len(done) == len(tokens)
        counts = Counter(r.outcome.value for r in done)
        level = logging.WARNING if batch.logged else logging.DEBUG
        elapsed = time.monotonic() - started
        log.log(level, "APNs: %d pushes in %.2fs: %s", len(done), elapsed, dict(counts))
        return done

    async def _push(self, token: str, batch: _Batch) -> PushResult:
        if not _TOKEN.fullmatch(token):
            return PushResult(token, PushOutcome.BAD_TOKEN, None, "BadDeviceToken", None)
        start = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", self._authority),
            # unique per push: kept out of the HPACK table so the topic and JWT stay in it
            NeverIndexedHeaderTuple(b":path", b"/3/device/" + token.encode()),
            NeverIndexedHeaderTuple(b"apns-id", str(uuid.uuid4()).encode()),
        ]
        attempts = resends = 0
        status: int | None = None
        reason: str | None = None
        while True:
            if batch.stop is not None:
                return PushResult(token, PushOutcome.CONFIG_ERROR, None, batch.stop, None)
            if self._pool.closed:
                return PushResult(token, PushOutcome.FAILED, status, "ClientClosed", None)
            jwt = self._jwt.current() if self._jwt else None
            auth = [(b"authorization", b"bearer " + jwt.encode())] if jwt else []
            try:
                conn = await self._pool.acquire()
                if batch.stop is not None:
                    continue
                future = conn.request(start + batch.tail + auth, _BODY, self.config.request_timeout)
                status, body = await future
            except ConfigFailure as exc:
                self._note(batch, token, PushOutcome.CONFIG_ERROR, None, exc.reason)
                return PushResult(token, PushOutcome.CONFIG_ERROR, None, exc.reason, None)
            except Retry as exc:
                status, reason = None, exc.reason
                if not exc.sent and resends < _FREE_RESENDS:
                    resends += 1
                    continue
            else:
                reason, stamp = parse_error(body) if status != 200 else (None, None)
                if status == 403 and reason == "ExpiredProviderToken" and self._jwt and jwt:
                    self._jwt.refresh(jwt)
                elif (outcome := classify(status, reason)) is not None:
                    self._note(batch, token, outcome, status, reason)
                    return PushResult(token, outcome, status, reason, stamp)
            attempts += 1
            if attempts >= self.config.max_attempts:
                self._note(batch, token, PushOutcome.FAILED, status, reason)
                return PushResult(token, PushOutcome.FAILED, status, reason, None)
            await asyncio.sleep(backoff(self.config, attempts))

    @staticmethod
    def _note(
        batch: _Batch, token: str, outcome: PushOutcome, status: int | None, reason: str | None
    ) -> None:
        """Log a final outcome: the first of a troubling kind per batch loudly, others quietly."""
        if outcome is PushOutcome.CONFIG_ERROR and batch.stop is None:
            batch.stop = reason or str(status)
        level = logging.DEBUG
        if outcome in _LOUD and outcome not in batch.logged:
            batch.logged.add(outcome)
            level = logging.ERROR if outcome is PushOutcome.CONFIG_ERROR else logging.WARNING
        if outcome is not PushOutcome.ACCEPTED:
            log.log(level, "APNs %s for %s: %s %s", outcome, short(token), status, reason)

    async def close(self) -> None:
        await self._pool.close()


class ApnsSender:
    """Synchronous facade: one background thread runs the loop that holds the connections."""

    def __init__(self, config: ApnsConfig) -> None:
        self._client = ApnsClient(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apns", daemon=True)
        self._lock = threading.Lock()
        self._closed = False
        self._thread.start()

    def __enter__(self) -> ApnsSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, tokens: Sequence[str], **kw: Any) -> list[PushResult]:
        """Blocks until every token has its outcome; callable from any thread."""
        if self._closed:
            raise RuntimeError("the APNs sender is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("ApnsSender.send called from its own loop thread")
        coro = self._client.send(tokens, **kw)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _shutdown(self) -> None:
        await self._client.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
