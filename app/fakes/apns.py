"""A fake APNs server on ``h2``: TLS with a required client certificate (or JWT
provider tokens), the topic checked against the certificate's UID, Apple's error
bodies, and injectable dead tokens, latency, failures and GOAWAYs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2 import events as ev
from h2.config import H2Configuration
from h2.connection import ConnectionState, H2Connection
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[0-9A-Fa-f]{16,200}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_FAIL_REASONS = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
MAX_PAYLOAD = 4096
JWT_LIFETIME = 3600


@dataclass(frozen=True)
class Received:
    token: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class _Request:
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)


def _peer_uid(transport: asyncio.BaseTransport) -> str | None:
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not der:
        return None
    values = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(values[0].value) if values else None


class FakeApns:
    """See the module doc; ``received`` lists the answered requests in order."""

    def __init__(
        self,
        *,
        server_cert: Path,
        server_key: Path,
        client_ca: Path | Sequence[Path] | None,
        topic: str | None = None,
        dead_tokens: Collection[str] = (),
        dead_ratio: float = 0.0,
        bad_tokens: Collection[str] = (),
        answers: Mapping[str, tuple[int, str]] | None = None,  # token -> (status, reason)
        latency: float = 0.0,
        fail_ratio: float = 0.0,
        fail_status: int = 500,
        goaway_after: int | None = None,
        drop_after: int | None = None,  # abort the connection after N answers, no GOAWAY
        max_concurrent_streams: int = 1000,
        token_key: ec.EllipticCurvePublicKey | None = None,
        record: bool = True,
        on_request: Callable[[Received], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.load_cert_chain(server_cert, server_key)
        self._ssl.set_alpn_protocols(["h2"])
        cas = [client_ca] if isinstance(client_ca, Path) else list(client_ca or ())
        for ca in cas:
            self._ssl.load_verify_locations(cafile=str(ca))
        self._ssl.verify_mode = ssl.CERT_REQUIRED if cas else ssl.CERT_NONE
        self.topic = topic
        self.dead_tokens, self.bad_tokens = set(dead_tokens), set(bad_tokens)
        self.dead_ratio, self.answers = dead_ratio, dict(answers or {})
        self.latency, self.fail_ratio, self.fail_status = latency, fail_ratio, fail_status
        self.goaway_after, self.drop_after = goaway_after, drop_after
        self.max_concurrent_streams = max_concurrent_streams
        self.token_key = token_key
        self.record, self.on_request = record, on_request
        self._random = random.Random(seed)  # noqa: S311 (failure injection)
        # Apple's side: its times are its own wall clock, not our injected one.
        self.dead_since_ms = int(time.time() * 1000) - 86_400_000
        self.received: list[Received] = []
        self.connections = 0  # accepted so far
        self.max_open_streams = 0  # most concurrent streams seen on one connection
        self.requests = 0
        self.requests_by_client: dict[int, int] = {}  # client's source port -> requests
        self.frozen = False  # True: read nothing, answer nothing (PINGs included)
        self.port = 0
        self._good_jwts: dict[str, int] = {}  # verified JWT -> iat
        self._expired_jwts: set[str] = set()
        self._server: asyncio.Server | None = None
        self._conns: set[_ServerConnection] = set()

    def is_dead(self, token: str) -> bool:
        if token in self.dead_tokens:
            return True
        if not self.dead_ratio:
            return False
        digest = hashlib.sha256(token.encode()).digest()
        return int.from_bytes(digest[:4], "big") < self.dead_ratio * 2**32

    def expire_provider_tokens(self) -> None:
        """Answer ExpiredProviderToken to every JWT seen so far."""
        self._expired_jwts.update(self._good_jwts)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _ServerConnection(self), host, port, ssl=self._ssl, ssl_handshake_timeout=10
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        conns = list(self._conns)
        for conn in conns:
            conn.transport.close()
        if conns:
            _, late = await asyncio.wait([c.closed for c in conns], timeout=2)
            for conn in conns:
                if not conn.closed.done():
                    conn.transport.abort()
            if late:
                await asyncio.wait(late, timeout=2)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _auth_error(self, key: ec.EllipticCurvePublicKey, authorization: str | None) -> str | None:
        if authorization is None or not authorization.lower().startswith("bearer "):
            return "MissingProviderToken"
        token = authorization[7:].strip()
        if token in self._expired_jwts:
            return "ExpiredProviderToken"
        iat = self._good_jwts.get(token)
        if iat is None:
            try:
                if not jwt.get_unverified_header(token).get("kid"):
                    return "InvalidProviderToken"
                claims = jwt.decode(
                    token, key, algorithms=["ES256"], options={"require": ["iat", "iss"]}
                )
            except jwt.InvalidTokenError:
                return "InvalidProviderToken"
            iat = self._good_jwts[token] = int(claims["iat"])
        return "ExpiredProviderToken" if time.time() - iat > JWT_LIFETIME else None

    def answer(self, req: _Request, peer_uid: str | None) -> tuple[int, str | None]:
        """(status, reason) for a request, checked in the order APNs seems to use."""
        h = req.headers
        path = h.get(":path", "")
        if h.get(":method") != "POST":
            return 405, "MethodNotAllowed"
        if not path.startswith("/3/device/"):
            return 404, "BadPath"
        if len(req.body) > MAX_PAYLOAD:
            return 413, "PayloadTooLarge"
        key = self.token_key
        if key is not None and (error := self._auth_error(key, h.get("authorization"))):
            return 403, error
        topic, expected = h.get("apns-topic"), self.topic or peer_uid
        if not topic:
            return 400, "MissingTopic"
        if expected is not None and topic != expected:
            return 400, "TopicDisallowed"
        token = path[len("/3/device/") :]
        if not _TOKEN.fullmatch(token) or token in self.bad_tokens:
            return 400, "BadDeviceToken"
        if h.get("apns-priority", "10") not in ("5", "10"):
            return 400, "BadPriority"
        if not h.get("apns-expiration", "0").isdigit():
            return 400, "BadExpirationDate"
        if "apns-id" in h and not _UUID.fullmatch(h["apns-id"]):
            return 400, "BadMessageId"
        if len(h.get("apns-collapse-id", "").encode()) > 64:
            return 400, "BadCollapseId"
        if not req.body:
            return 400, "PayloadEmpty"
        if token in self.answers:
            return self.answers[token]
        if self.fail_ratio and self._random.random() < self.fail_ratio:
            return self.fail_status, _FAIL_REASONS.get(self.fail_status, "InternalServerError")
        if self.is_dead(token):
            return 410, "Unregistered"
        return 200, None


class _H2(H2Connection):
    """h2 counts open streams by scanning all of them whenever a client opens one
    (quadratic in a burst). It asks only then, so the count is kept here instead: +1
    per question, -1 when the owner closes a stream, resynced by h2's scan every 256."""

    def __init__(self, fake: FakeApns) -> None:
        super().__init__(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.fake = fake
        self.open_count = 0
        self._asked = 0

    @property
    def open_inbound_streams(self) -> int:
        self._asked += 1
        if self._asked % 256 == 0:
            self.open_count = super().open_inbound_streams
        count = self.open_count
        self.open_count += 1
        self.fake.max_open_streams = max(self.fake.max_open_streams, self.open_count)
        return count


class _ServerConnection(asyncio.Protocol):
    def __init__(self, fake: FakeApns) -> None:
        self.fake = fake
        self.loop = asyncio.get_running_loop()
        self.requests: dict[int, _Request] = {}
        self.h2 = _H2(fake)
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.pending: set[int] = set()  # complete requests not answered yet
        self.count = 0
        self.answered = 0
        self.last_stream: int | None = None  # set once GOAWAY is sent
        self.peer_uid: str | None = None
        self.client_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.fake._conns.add(self)
        self.fake.connections += 1
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            transport.close()
            return
        self.peer_uid = _peer_uid(transport)
        self.client_port = int(transport.get_extra_info("peername")[1])
        self.h2.local_settings = Settings(
            client=False,
            initial_values={SettingCodes.MAX_CONCURRENT_STREAMS: self.fake.max_concurrent_streams},
        )
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(1 << 24)
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fake._conns.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.fake.frozen:
            return
        try:
            events = self.h2.receive_data(data)
        except H2Error as exc:
            log.warning("fake APNs: protocol error from the client: %s", exc)
            self.flush()
            self.transport.close()
            return
        for event in events:
            if isinstance(event, ev.RequestReceived):
                if self.last_stream is None:
                    self.requests[event.stream_id] = _Request(dict(event.headers))  # type: ignore[arg-type]
            elif isinstance(event, ev.DataReceived):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if (req := self.requests.get(event.stream_id)) is not None:
                    req.body += event.data
            elif isinstance(event, ev.StreamEnded):
                self.request_done(event.stream_id)
            elif isinstance(event, ev.StreamReset):
                self.h2.open_count -= 1
                self.requests.pop(event.stream_id, None)
                self.pending.discard(event.stream_id)
            elif isinstance(event, ev.ConnectionTerminated):
                self.transport.close()
        self.flush()

    def request_done(self, sid: int) -> None:
        req = self.requests.get(sid)
        if req is None or (self.last_stream is not None and sid > self.last_stream):
            self.requests.pop(sid, None)
            return  # refused by our GOAWAY: never processed
        self.count += 1
        self.fake.requests += 1
        by_client = self.fake.requests_by_client
        by_client[self.client_port] = by_client.get(self.client_port, 0) + 1
        self.pending.add(sid)
        status, reason = self.fake.answer(req, self.peer_uid)
        if self.fake.goaway_after and self.count >= self.fake.goaway_after:
            self.goaway(sid)
        if self.fake.latency:
            self.loop.call_later(self.fake.latency, self.respond, sid, status, reason)
        else:
            self.respond(sid, status, reason)

    def goaway(self, last: int) -> None:
        self.last_stream = last
        self.h2.close_connection(last_stream_id=last)
        # h2 stops at its own GOAWAY; the streams up to ``last`` still get answers.
        self.h2.state_machine.state = ConnectionState.SERVER_OPEN
        self.flush()

    def respond(self, sid: int, status: int, reason: str | None) -> None:
        req = self.requests.pop(sid, None)
        self.pending.discard(sid)
        if req is None or self.transport.is_closing():
            return
        apns_id = req.headers.get("apns-id") or str(uuid.uuid4()).upper()
        body = b""
        if reason is not None:
            error: dict[str, Any] = {"reason": reason}
            if status == 410:
                error["timestamp"] = self.fake.dead_since_ms
            body = json.dumps(error).encode()
        headers = [(":status", str(status)), ("apns-id", apns_id)]
        if body:
            headers.append(("content-type", "application/json"))
        with suppress(H2Error):  # the client may have reset the stream
            self.h2.send_headers(sid, headers, end_stream=not body)
            if body:
                self.h2.send_data(sid, body, end_stream=True)
            self.h2.open_count -= 1
        # Recorded before the answer leaves, so a client that has its answer can rely
        # on the record being there.
        token = req.headers.get(":path", "").rpartition("/")[2]
        received = Received(token, req.headers, bytes(req.body), status)
        if self.fake.record:
            self.fake.received.append(received)
        if self.fake.on_request is not None:
            self.fake.on_request(received)
        self.flush()
        self.answered += 1
        if self.fake.drop_after and self.answered >= self.fake.drop_after:
            self.transport.abort()  # what is in flight is lost
        elif self.last_stream is not None and not self.pending:
            self.transport.close()


@contextmanager
def running_fake_apns(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> Iterator[FakeApns]:
    """A FakeApns serving from a thread of its own (for synchronous tests and tools)."""
    fake = FakeApns(**kw)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-apns", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(fake.start(host, port), loop).result(30)
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
