"""HTTP/2 plumbing of the APNs client: connections on ``h2`` and the pool holding them.

A connection acknowledges every DATA frame it reads (error bodies must not close the
flow-control window), opens no more streams than the server's
SETTINGS_MAX_CONCURRENT_STREAMS, times requests out and, on GOAWAY, refuses only the
streams above ``last_stream_id`` while the others finish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
from collections import deque
from contextlib import suppress
from typing import Any

from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import ConnectionState, H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings
from hpack import Encoder
from hyperframe.frame import Frame, GoAwayFrame

from app.push.apns.config import ApnsConfig

log = logging.getLogger(__name__)

_CONFIG_GOAWAY = frozenset({"BadCertificate", "BadCertificateEnvironment", "Forbidden"})
_SLOW_START = 100  # streams a new connection may open before answers raise its limit


def parse_error(body: bytes) -> tuple[str | None, int | None]:
    """Apple's error body: ``{"reason": ..., "timestamp": <epoch ms>}`` (410 only)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    reason, stamp = data.get("reason"), data.get("timestamp")
    if isinstance(stamp, str) and stamp.isdigit():
        stamp = int(stamp)
    return (
        reason if isinstance(reason, str) else None,
        stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None,
    )


class Retry(Exception):
    """No answer; ``sent`` is False when APNs surely did not process the push."""

    def __init__(self, reason: str, *, sent: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.sent = reason, sent


class ConfigFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fresh_error(exc: Retry | ConfigFailure) -> Retry | ConfigFailure:
    """A new instance: one exception object must not be raised in many tasks."""
    return Retry(exc.reason, sent=exc.sent) if isinstance(exc, Retry) else ConfigFailure(exc.reason)


def connection_error(exc: BaseException | None) -> Retry | ConfigFailure:
    if isinstance(exc, ConfigFailure | Retry):
        return fresh_error(exc)
    text = str(exc) if exc else "connection closed"
    if isinstance(exc, ssl.SSLCertVerificationError) or (
        isinstance(exc, ssl.SSLError)
        and any(s in text.upper() for s in ("CERTIFICATE", "UNKNOWN_CA", "ACCESS_DENIED"))
    ):
        return ConfigFailure(f"TLS: {text}")
    return Retry(f"connection: {text or type(exc).__name__}")


class _PlainEncoder(Encoder):
    """HPACK without Huffman coding: pure-Python Huffman cost more CPU than its bytes."""

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        return super().encode(headers, huffman=False)


class _H2(H2Connection):
    """h2 counts open streams by scanning all of them for every new stream, which
    dominated the profile with hundreds in flight. The owner counts its own streams;
    h2's scan (which also retires closed streams) runs every 256th time."""

    # h2 remembers 65 536 closed streams per connection (to tell late frames from
    # protocol errors): ~15 MiB a connection before memory levels off. APNs answers
    # each stream once, so a short memory is enough.
    MAX_CLOSED_STREAMS = 1024

    def __init__(self, owned: dict[int, _Stream]) -> None:
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,  # built by the client from checked parts
            normalize_outbound_headers=False,
            validate_inbound_headers=False,  # only :status is read
        )
        super().__init__(config)
        self.encoder = _PlainEncoder()
        self._owned = owned
        self._count_calls = 0

    @property
    def open_outbound_streams(self) -> int:
        self._count_calls += 1
        if self._count_calls % 256 == 0:
            return super().open_outbound_streams
        return len(self._owned)

    def _receive_goaway_frame(self, frame: GoAwayFrame) -> tuple[list[Frame], list[ev.Event]]:
        # h2 closes the connection on GOAWAY, so the answers that follow it in the same
        # read would be protocol errors; streams <= last_stream_id may still complete
        # (RFC 9113 6.8). The owner opens no new stream once it sees the event.
        result = super()._receive_goaway_frame(frame)
        self.state_machine.state = ConnectionState.CLIENT_OPEN
        return result


class _Stream:
    __slots__ = ("body", "future", "status", "timer")

    def __init__(self, future: asyncio.Future[tuple[int, bytes]], timer: asyncio.Handle):
        self.future, self.timer = future, timer
        self.status = 0
        self.body = b""


class Connection(asyncio.Protocol):
    """One HTTP/2 connection; requests are futures resolved by its data_received."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._timeout = pool.config.request_timeout
        self._loop = asyncio.get_running_loop()
        self.streams: dict[int, _Stream] = {}
        self.h2 = _H2(self.streams)
        self.h2.local_settings = Settings(client=True, initial_values={SettingCodes.ENABLE_PUSH: 0})
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = self._loop.create_future()  # first server SETTINGS
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._blocked: dict[int, bytes] = {}  # bodies waiting for flow-control window
        self.slot: int | None = None
        self.draining = False
        self.answered = 0
        self.last_rx = self._loop.time()
        self._flush_soon = False
        self._probe: asyncio.TimerHandle | None = None  # PING sent after a silent timeout

    def free(self) -> int:
        if self.draining or self.closed.done() or not self.ready.done():
            return 0
        server_limit = self.h2.remote_settings.max_concurrent_streams
        # slow start: a connection that dies early (GOAWAY, refused) wastes fewer pushes
        limit = min(server_limit, self._pool.config.max_streams, _SLOW_START + self.answered)
        return limit - len(self.streams)

    def request(
        self, headers: list[tuple[bytes, bytes]], body: bytes, timeout: float
    ) -> asyncio.Future[tuple[int, bytes]]:
        """Open a stream; the future gives (status, body) or raises Retry/ConfigFailure."""
        try:
            sid = self.h2.get_next_available_stream_id()
            self.h2.send_headers(sid, headers)
            if self.h2.local_flow_control_window(sid) >= len(body):
                self.h2.send_data(sid, body, end_stream=True)
            else:
                self._blocked[sid] = body
        except H2Error as exc:
            raise Retry(f"cannot open a stream: {exc}", sent=False) from None
        future: asyncio.Future[tuple[int, bytes]] = self._loop.create_future()
        self.streams[sid] = _Stream(future, self._loop.call_later(timeout, self._timed_out, sid))
        if not self._flush_soon:  # one write for all requests made in this loop iteration
            self._flush_soon = True
            self._loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_soon = False
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.h2.initiate_connection()  # default 64 KiB windows: acknowledged DATA keeps them open
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.last_rx = self._loop.time()
        try:
            events = self.h2.receive_data(data)
        except H2Error as exc:
            log.warning("APNs connection protocol error: %s", exc)
            self._flush()
            self.abort()
            return
        for event in events:
            stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
            if isinstance(event, ev.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if stream is not None:
                    stream.body += event.data
            elif isinstance(event, ev.ResponseReceived) and stream is not None:
                stream.status = next((int(v) for k, v in event.headers if k == b":status"), 0)
            elif isinstance(event, ev.StreamEnded):
                self._finish(event.stream_id)
            elif isinstance(event, ev.StreamReset):
                refused = event.error_code == ErrorCodes.REFUSED_STREAM
                self._fail(event.stream_id, Retry("stream reset", sent=not refused))
            elif isinstance(event, ev.RemoteSettingsChanged):
                if not self.ready.done():
                    self.ready.set_result(None)
                self._unblock()
                self._pool.wake(all_=True)
            elif isinstance(event, ev.WindowUpdated):
                self._unblock()
            elif isinstance(event, ev.ConnectionTerminated):
                self._goaway(event)
        self._flush()

    def _unblock(self) -> None:
        for sid, body in list(self._blocked.items()):
            if self.h2.local_flow_control_window(sid) >= len(body):
                del self._blocked[sid]
                try:
                    self.h2.send_data(sid, body, end_stream=True)
                except H2Error:
                    self._fail(sid, Retry("stream closed before its body was sent"))

    def _goaway(self, event: ev.ConnectionTerminated) -> None:
        last = event.last_stream_id or 0
        reason, _ = parse_error(event.additional_data or b"")
        log.info("APNs GOAWAY %s (last stream %d, reason %s)", event.error_code, last, reason)
        self.draining = True
        for sid in [sid for sid in self.streams if sid > last]:
            refused = Retry("refused by GOAWAY", sent=False)
            self._fail(sid, ConfigFailure(reason) if reason in _CONFIG_GOAWAY else refused)
        self._pool.on_goaway(self)
        if not self.streams and self.transport is not None:
            self.transport.close()

    def _done(self, sid: int) -> _Stream | None:
        stream = self.streams.pop(sid, None)
        if stream is not None:
            stream.timer.cancel()
            if self._blocked.pop(sid, None) is not None:  # answered before the body went out
                self._reset(sid)
            if self.draining and not self.streams and self.transport is not None:
                self.transport.close()
            self._pool.wake()
        return stream

    def _finish(self, sid: int) -> None:
        stream = self._done(sid)
        if stream is not None:
            self.answered += 1
            if not stream.future.done():
                stream.future.set_result((stream.status, stream.body))

    def _fail(self, sid: int, exc: Exception) -> None:
        stream = self._done(sid)
        if stream is not None and not stream.future.done():
            stream.future.set_exception(exc)

    def _reset(self, sid: int) -> None:
        try:
            self.h2.reset_stream(sid, ErrorCodes.CANCEL)
        except H2Error:
            return
        self._flush()

    def _timed_out(self, sid: int) -> None:
        if sid not in self.streams:
            return
        self._reset(sid)
        self._fail(sid, Retry(f"no answer in {self._timeout:g}s"))
        if self._probe is None and self._loop.time() - self.last_rx >= self._timeout:
            self.h2.ping(b"walletpp")  # a live server answers at once, however slow its pushes
            self._flush()
            self._probe = self._loop.call_later(self._timeout, self._check_alive, self._loop.time())

    def _check_alive(self, pinged: float) -> None:
        self._probe = None
        if self.last_rx < pinged:
            log.warning("APNs connection silent for %.1fs after a PING; dropping it", self._timeout)
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():  # Python TLS servers hang up without an alert
            hint = Retry("closed before HTTP/2 started (TLS client certificate refused?)")
            self.ready.set_exception(connection_error(exc) if exc else hint)
        for sid in list(self.streams):
            self._fail(sid, connection_error(exc))
        if not self.closed.done():
            self.closed.set_result(None)
        if self._probe is not None:
            self._probe.cancel()
        self._pool.on_lost(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        if self.transport is None:
            return
        if not self.transport.is_closing():
            with suppress(H2Error):
                self.h2.close_connection()
            self._flush()
            self.transport.close()
        try:
            async with asyncio.timeout(2):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.abort()
            await self.closed


def backoff(config: ApnsConfig, attempt: int) -> float:
    delay = min(config.backoff_max, config.backoff_base * 2 ** (attempt - 1))
    return float(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)


class Pool:
    """Up to ``connections`` connections, opened on demand, reopened with backoff."""

    def __init__(self, config: ApnsConfig, ssl_context: ssl.SSLContext) -> None:
        self.config, self._ssl = config, ssl_context
        n = config.connections
        self._slots: list[Connection | None] = [None] * n
        self._connecting: list[asyncio.Task[None] | None] = [None] * n
        self._failures, self._not_before = [0] * n, [0.0] * n
        self._draining: set[Connection] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._errors = 0
        self._last_error: Retry | ConfigFailure = Retry("no connection")
        self.closed = False

    def wake(self, *, all_: bool = False) -> None:
        n = len(self._waiters) if all_ else 1
        while n and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                n -= 1

    async def acquire(self) -> Connection:
        """The connection with the most free streams; waits for one, or opens one."""
        errors = self._errors
        loop = asyncio.get_running_loop()
        while True:
            if self.closed:
                raise Retry("client closed", sent=False)
            most, best, alive = 0, None, False
            for conn in self._slots:
                if conn is not None:
                    alive, free = True, conn.free()
                    if free > most:
                        most, best = free, conn
            if best is not None:
                return best
            busy = alive or any(self._connecting)
            if self._errors != errors and not busy:
                raise fresh_error(self._last_error)
            delay = self._open_slot(loop.time())
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(delay):
                    await waiter
            except TimeoutError:
                pass

    def _open_slot(self, now: float) -> float | None:
        """Start connecting a free slot; else the wait until one may reconnect."""
        if any(self._connecting):
            return None
        waits = []
        for i, conn in enumerate(self._slots):
            if conn is None:
                if self._not_before[i] <= now:
                    self._connecting[i] = asyncio.get_running_loop().create_task(self._connect(i))
                    return None
                waits.append(self._not_before[i] - now)
        return min(waits, default=None)

    async def _connect(self, slot: int) -> None:
        try:
            conn = await self._open()
        except Exception as exc:
            self._last_error = connection_error(exc)
            self._errors += 1
            self._failed(slot)
            log.warning("APNs connection to %s failed: %s", self.config.host, str(exc) or repr(exc))
        else:
            if conn.closed.done() or conn.draining:  # lost or sent away in the meantime
                self._failed(slot)
            else:
                conn.slot = slot
                self._slots[slot] = conn
        finally:
            self._connecting[slot] = None
            self.wake(all_=True)

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        conn = Connection(self)
        host, timeout = self.config.host, self.config.request_timeout
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(
                    lambda: conn, host, self.config.port, ssl=self._ssl,
                    server_hostname=host, ssl_handshake_timeout=timeout,
                )  # fmt: skip
                alpn = transport.get_extra_info("ssl_object").selected_alpn_protocol()
                if alpn != "h2":
                    raise ConfigFailure(f"the server did not agree to HTTP/2 (ALPN {alpn})")
                await conn.ready
        except BaseException:
            conn.abort()
            raise
        return conn

    def _failed(self, slot: int) -> None:
        self._failures[slot] += 1
        delay = backoff(self.config, self._failures[slot])
        self._not_before[slot] = asyncio.get_running_loop().time() + delay

    def _release(self, conn: Connection) -> None:
        if conn.slot is not None and self._slots[conn.slot] is conn:
            self._slots[conn.slot] = None
            if conn.answered:
                self._failures[conn.slot] = 0
            else:  # died without answering anything: do not hammer the server
                self._failed(conn.slot)

    def on_goaway(self, conn: Connection) -> None:
        self._release(conn)
        if not conn.closed.done():
            self._draining.add(conn)
        self.wake(all_=True)

    def on_lost(self, conn: Connection) -> None:
        self._release(conn)
        self._draining.discard(conn)
        self.wake(all_=True)

    async def close(self) -> None:
        self.closed = True
        tasks = [t for t in self._connecting if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        conns = [c for c in self._slots if c is not None] + list(self._draining)
        await asyncio.gather(*(c.close() for c in conns))
        self.wake(all_=True)
