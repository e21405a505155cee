"""Fake push relays of the Android .pkpass apps, one per protocol, on one loopback
HTTP/1.1 server (keep-alive, a thread per connection).

Each route checks what its relay checks: the key header, the body's shape (token
lists are arrays of strings) and the batch limit (413 beyond), and records what it
accepted. Tests script answers: 429 with ``Retry-After``, 5xx, 401, and tokens the
relay reports expired (WalletUnion's ``expired_push_tokens``, FCM's NotRegistered for
Passworks). Paths are the documented ones under a prefix naming the relay.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.settings import RelaySettings

# relay -> (path pattern, max tokens per call)
ROUTES: dict[str, tuple[str, int]] = {
    "walletpasses": (r"/walletpasses/api/v1/push", 1000),
    "passwallet": (r"/passwallet/v1/pushUpdates", 1000),
    "pass2u": (r"/pass2u/v2/registrations/(?P<pt>[^/]+)/push", 1000),
    "passworks": (r"/passworks/v1/pushUpdate", 500),
    "walletunion": (r"/walletunion/api/v1/push", 50),  # 1 000 with "hms": true
    "passhub": (r"/passhub/v1/push", 1000),
}
KEYED = {"walletpasses": "optional", "pass2u": "x-api-key", "passworks": "raw", "passhub": "bearer"}


@dataclass(frozen=True)
class Received:
    relay: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    tokens: list[str]
    at: float


@dataclass
class FakeRelays:
    keys: dict[str, str] = field(default_factory=dict)
    record: bool = True
    port: int = 0
    expired: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # relay, status, why
    tokens_seen: int = 0
    _scripts: dict[str, deque[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cond: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._cond = threading.Condition(self._lock)

    def url(self, relay: str) -> str:
        """The endpoint a channel is configured with (PassWallet: the pushServiceUrl)."""
        base = f"http://127.0.0.1:{self.port}"
        if relay == "passwallet":
            return f"{base}/passwallet"
        if relay == "pass2u":
            return f"{base}/pass2u/v2/registrations/{{passTypeIdentifier}}/push"
        return base + ROUTES[relay][0]

    def settings(self, relay: str) -> RelaySettings:
        return RelaySettings(
            url=self.url(relay), key=self.keys.get(relay), key_required=False, off=None
        )

    def answer_next(
        self,
        relay: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: object = None,
        times: int = 1,
    ) -> None:
        data = json.dumps(body if body is not None else {"error": f"scripted {status}"})
        with self._lock:
            for _ in range(times):
                self._scripts.setdefault(relay, deque()).append(
                    (status, headers or {}, data.encode())
                )

    def wait_for(self, relay: str, n: int = 1, timeout: float = 5.0) -> list[Received]:
        """The first ``n`` requests the relay accepted, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self.received if r.relay == relay]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{relay}: {len(got)} of {n} requests in {timeout}s")
                self._cond.wait(left)

    # -- serving ---------------------------------------------------------------------

    def handle(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        found = [
            (name, m, cap)
            for name, (pattern, cap) in ROUTES.items()
            if (m := re.fullmatch(pattern, path))
        ]
        if not found:
            return 404, {}, b'{"error": "no such route"}'
        relay, match, limit = found[0]
        with self._lock:
            script = self._scripts.get(relay)
            if script:
                return script.popleft()
        why = self._check_key(relay, headers)
        if why:
            return self._refuse(relay, 401, why)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._refuse(relay, 400, "body is not JSON")
        if not isinstance(body, dict):
            return self._refuse(relay, 400, "body is not an object")
        tokens, why = self._shape(relay, body, match)
        if why:
            return self._refuse(relay, 400, why)
        if relay == "walletunion" and body.get("hms") is True:
            limit = 1000
        if len(tokens) > limit:
            return self._refuse(relay, 413, f"Too many pushTokens, max={limit}")
        with self._cond:
            self.tokens_seen += len(tokens)
            if self.record:
                self.received.append(Received(relay, path, headers, body, tokens, time.monotonic()))
            self._cond.notify_all()
        return 200, {}, json.dumps(self._answer(relay, tokens)).encode()

    def _refuse(self, relay: str, status: int, why: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.refused.append((relay, status, why))
        return status, {}, json.dumps({"error": why}).encode()

    def _check_key(self, relay: str, headers: dict[str, str]) -> str | None:
        kind, key = KEYED.get(relay), self.keys.get(relay)
        if kind is None or key is None:
            return None
        if kind == "x-api-key":
            given = headers.get("x-api-key")
        elif kind == "bearer":
            auth = headers.get("authorization", "")
            given = auth[7:] if auth.startswith("Bearer ") else None
        else:
            given = headers.get("authorization")
            if kind == "optional" and given is None:
                return None
        return None if given == key else "missing or wrong key"

    @staticmethod
    def _shape(relay: str, body: dict[str, Any], match: re.Match[str]) -> tuple[list[str], str]:
        fields = {
            "walletpasses": ("passTypeIdentifier", "pushTokens"),
            "passwallet": ("passTypeID", "pushTokens"),
            "pass2u": (None, "registrationIds"),
            "passworks": ("passTypeIdentifier", "pushTokens"),
            "walletunion": ("passTypeIdentifier", "pushTokens"),
            "passhub": ("pass_type_id", "push_tokens"),
        }
        type_field, list_field = fields[relay]
        tokens = body.get(list_field)
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            return [], f"{list_field} must be an array of strings"
        if not tokens:
            return [], f"{list_field} is empty"
        if type_field is not None and not isinstance(body.get(type_field), str):
            return [], f"{type_field} is missing"
        if relay == "pass2u" and not match.group("pt").startswith("pass."):
            return [], "the path must carry the pass type identifier"
        if relay == "walletunion" and not isinstance(body.get("hms", False), bool):
            return [], "hms must be true or false"
        return tokens, ""

    def _answer(self, relay: str, tokens: list[str]) -> object:
        dead = [t for t in tokens if t in self.expired]
        if relay == "walletunion":
            return {
                "status": "ERROR" if dead else "OK",
                "unknown_push_tokens": [],
                "expired_push_tokens": dead,
            }
        if relay == "passworks":
            results = [
                {"error": "NotRegistered"} if t in self.expired else {"message_id": f"0:{i}"}
                for i, t in enumerate(tokens)
            ]
            return {
                "multicast_id": 1,
                "success": len(tokens) - len(dead),
                "failure": len(dead),
                "results": results,
            }
        return {"status": "OK"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, body = self.server.fake.handle(self.path, headers, raw)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeRelays) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


@contextmanager
def running_fake_relays(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> Iterator[FakeRelays]:
    """Every fake relay on one port, served from threads of its own."""
    fake = FakeRelays(**kw)
    server = _Server((host, port), fake)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fake-relays", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
