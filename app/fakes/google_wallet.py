"""A fake Google Wallet API (loyalty classes and objects) with its OAuth2 token endpoint.

Plain HTTP on loopback (``http.server`` in a thread). ``/token`` verifies the service
account's JWT-bearer assertion and hands out bearer tokens; ``/walletobjects/v1/``
keeps classes and objects in dicts and answers like Google: insert (409 when the id
exists), get (404), patch (top-level fields merged, arrays replaced whole), update,
addMessage with the three-notifications-per-pass-per-24-h budget (403
``quotaExceeded``). Every body is validated against the discovery document's schema
(400 ``invalid``), so a field Google does not know fails the test that sent it.
``fail_next`` injects errors; ``requests`` records every request.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.fakes.walletobjects_schema import SchemaValidationError, WalletObjectsSchema

WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_PREFIX = "/walletobjects/v1"
NOTIFICATIONS_PER_DAY = 3
DAY = 86_400.0
MAX_MESSAGES = 10
MAX_LOCATIONS = 10
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "ALREADY_EXISTS",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip
_REASON = {401: "authError", 404: "resourceNotFound", 409: "duplicate", 429: "rateLimitExceeded"}
_ROUTE = re.compile(rf"^{API_PREFIX}/(loyaltyClass|loyaltyObject)(?:/([^/]+))?(/addMessage)?$")
_ID = re.compile(r"^[A-Za-z0-9._-]+$")
_REQUIRED = {
    "loyaltyClass": ("id", "issuerName", "programName", "programLogo", "reviewStatus"),
    "loyaltyObject": ("id", "classId", "state"),
}
_SCHEMA = {"loyaltyClass": "LoyaltyClass", "loyaltyObject": "LoyaltyObject"}

Answer = tuple[int, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the query string
    body: Any  # parsed JSON; the form fields for /token; None when empty
    status: int


@dataclass(frozen=True)
class Notification:
    object_id: str
    kind: str  # "message" (addMessage TEXT_AND_NOTIFY) | "field_update" (notifyPreference)
    detail: Any  # the message, or the names of the changed fields


class _Refused(Exception):
    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or _REASON.get(status, "invalid" if status == 400 else "backendError")


def google_error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    """Google's error body."""
    refused = _Refused(status, message, reason)
    return {
        "error": {
            "code": status,
            "message": message,
            "status": _STATUS.get(status, "UNKNOWN"),
            "errors": [{"message": message, "domain": "global", "reason": refused.reason}],
        }
    }


class FakeGoogleWallet:
    def __init__(
        self,
        issuer_id: str,
        *,
        service_account_public_key: rsa.RSAPublicKey | bytes | str,
        schema_path: Path | str | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.issuer_id = issuer_id
        key = service_account_public_key
        if not isinstance(key, rsa.RSAPublicKey):
            pem = key.encode() if isinstance(key, str) else key
            loaded = serialization.load_pem_public_key(pem)
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise ValueError("the service account public key is not an RSA key")
            key = loaded
        self.public_key = key
        self.schema_path = schema_path
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.host, self.port = host, port
        self.classes: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.notifications: list[Notification] = []
        self.tokens: dict[str, float] = {}  # issued token -> expiry (clock time)
        self._notified: dict[str, list[float]] = {}  # object id -> TEXT_AND_NOTIFY times
        self._failures: list[tuple[int, float | None]] = []
        self._schema: WalletObjectsSchema | None = None
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted (keep-alive checks)

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> str:
        """Serves in a thread; answers the base URL (``http://127.0.0.1:<port>``).
        Refuses to start without the discovery document (SchemaUnavailable)."""
        self.schema()
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-google-wallet"
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        self.drop_connections()  # wakes handlers waiting on kept-alive connections
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Google Wallet is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    def schema(self) -> WalletObjectsSchema:
        if self._schema is None:
            self._schema = WalletObjectsSchema.load(self.schema_path)
        return self._schema

    # -- test controls --------------------------------------------------------------

    def fail_next(self, n: int, status: int = 429, *, retry_after: float | None = None) -> None:
        """The next ``n`` API requests (not token requests) answer ``status``."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * n)

    def drop_connections(self) -> None:
        """Closes every open connection, as Google does with idle kept-alive ones."""
        with self._lock:
            for conn in list(self._connections):
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def expire_tokens(self) -> None:
        """Every access token handed out so far is refused from now on (401)."""
        with self._lock:
            self.tokens.clear()

    def api_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(API_PREFIX)]

    # -- answering ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        """One request -> (status, JSON body, extra headers); thread-safe."""
        path = target.partition("?")[0]
        with self._lock:
            try:
                body = _parse_body(raw, headers.get("content-type", ""))
            except _Refused as exc:
                self.requests.append(Recorded(method, path, raw.decode("utf-8", "replace"), 400))
                return 400, google_error(400, str(exc)), {}
            status, answer, extra = self._answer(method, path, headers, body)
            self.requests.append(Recorded(method, path, body, status))
            return status, answer, extra

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        if path == "/token":
            try:
                return 200, self._token(method, body), {}
            except _Refused as exc:
                return exc.status, {"error": exc.reason, "error_description": str(exc)}, {}
        if self._failures:
            status, retry_after = self._failures.pop(0)
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return status, google_error(status, "injected failure"), extra
        try:
            self._authorize(headers.get("authorization", ""))
            return 200, self._api(method, path, body), {}
        except _Refused as exc:
            return exc.status, google_error(exc.status, str(exc), exc.reason), {}

    def _token(self, method: str, form: Any) -> dict[str, Any]:
        if method != "POST" or not isinstance(form, dict):
            raise _Refused(400, "POST a form to the token endpoint", "invalid_request")
        if form.get("grant_type") != JWT_BEARER:
            raise _Refused(400, f"grant_type must be {JWT_BEARER}", "unsupported_grant_type")
        try:
            header = jwt.get_unverified_header(str(form.get("assertion", "")))
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_url,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.PyJWTError as exc:
            raise _Refused(400, f"invalid assertion: {exc}", "invalid_grant") from None
        if not header.get("kid"):
            raise _Refused(400, "the assertion has no kid header", "invalid_grant")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            raise _Refused(400, "the assertion lives longer than an hour", "invalid_grant")
        if WALLET_SCOPE not in str(claims["scope"]).split():
            raise _Refused(400, f"scope {WALLET_SCOPE} not requested", "invalid_scope")
        token = "fake-" + secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_lifetime
        return {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}

    def _authorize(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        expiry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= self.clock():
            raise _Refused(401, "Request had invalid authentication credentials.")

    def _api(self, method: str, path: str, body: Any) -> dict[str, Any]:
        route = _ROUTE.match(path)
        if route is None:
            raise _Refused(404, f"no such resource: {path}")
        kind, quoted_id, add_message = route.groups()
        resource_id = urllib.parse.unquote(quoted_id) if quoted_id else None
        store = self.classes if kind == "loyaltyClass" else self.objects
        if add_message:
            if method != "POST" or resource_id is None:
                raise _Refused(405, "addMessage is a POST")
            self._validate("AddMessageRequest", body)
            return self._add_message(kind, store, resource_id, body)
        if resource_id is None:
            if method == "POST":
                return self._insert(kind, store, body)
            raise _Refused(405, f"{method} {path} is not supported")
        if method == "GET":
            return dict(self._existing(kind, store, resource_id))
        if method in ("PATCH", "PUT"):
            return self._modify(kind, store, resource_id, body, replace=method == "PUT")
        raise _Refused(405, f"{method} {path} is not supported")

    def _validate(self, schema_name: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise _Refused(400, f"the body must be a JSON {schema_name} object")
        try:
            self.schema().validate(schema_name, body)
        except SchemaValidationError as exc:
            raise _Refused(400, str(exc)) from None

    def _check_resource(self, kind: str, body: dict[str, Any]) -> None:
        ids = [body.get("id")] + ([body.get("classId")] if "classId" in body else [])
        for value in ids:
            if value is None:
                continue
            if not _ID.match(str(value)) or not str(value).startswith(f"{self.issuer_id}."):
                expected = f"'{self.issuer_id}.' + letters, digits, '.', '_', '-'"
                raise _Refused(400, f"id {value!r} is not {expected}")
        if len(body.get("messages", [])) > MAX_MESSAGES:
            raise _Refused(400, f"at most {MAX_MESSAGES} messages")
        if len(body.get("merchantLocations", [])) > MAX_LOCATIONS:
            raise _Refused(400, f"at most {MAX_LOCATIONS} merchantLocations")

    def _existing(self, kind: str, store: dict[str, dict[str, Any]], rid: str) -> dict[str, Any]:
        found = store.get(rid)
        if found is None:
            raise _Refused(404, f"{kind} {rid} not found")
        return found

    def _insert(self, kind: str, store: dict[str, dict[str, Any]], body: Any) -> dict[str, Any]:
        self._validate(_SCHEMA[kind], body)
        missing = [name for name in _REQUIRED[kind] if name not in body]
        if missing:
            raise _Refused(400, f"{kind} lacks required {', '.join(missing)}")
        self._check_resource(kind, body)
        if kind == "loyaltyObject":
            owner = self.classes.get(str(body["classId"]))
            if owner is None:
                raise _Refused(404, f"loyaltyClass {body['classId']} not found")
            if str(owner.get("reviewStatus", "")).upper() == "DRAFT":
                raise _Refused(400, "objects of a DRAFT class cannot be created")
        if body["id"] in store:
            raise _Refused(409, f"{kind} {body['id']} already exists")
        stored = {k: v for k, v in body.items() if k != "notifyPreference"}
        store[str(body["id"])] = stored
        return dict(stored)

    def _modify(
        self, kind: str, store: dict[str, dict[str, Any]], rid: str, body: Any, *, replace: bool
    ) -> dict[str, Any]:
        self._validate(_SCHEMA[kind], body)
        old = self._existing(kind, store, rid)
        if body.get("id", rid) != rid:
            raise _Refused(400, f"the body's id {body.get('id')!r} is not {rid!r}")
        if "classId" in body and "classId" in old and body["classId"] != old["classId"]:
            raise _Refused(400, "classId cannot change")
        self._check_resource(kind, body)
        changes = {k: v for k, v in body.items() if k != "notifyPreference"}
        new = dict(changes) if replace else {**old, **changes}
        new["id"] = rid
        for keep in ("classId",) if kind == "loyaltyObject" else ():
            new.setdefault(keep, old.get(keep))
        changed = sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))
        if body.get("notifyPreference") == "NOTIFY_ON_UPDATE" and changed:
            self.notifications.append(Notification(rid, "field_update", changed))
        store[rid] = new
        return dict(new)

    def _add_message(
        self, kind: str, store: dict[str, dict[str, Any]], rid: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        target = self._existing(kind, store, rid)
        message = body.get("message")
        if not isinstance(message, dict):
            raise _Refused(400, "addMessage needs a message")
        messages = list(target.get("messages", []))
        if len(messages) >= MAX_MESSAGES:
            raise _Refused(400, f"{kind} {rid} already has {MAX_MESSAGES} messages")
        if kind == "loyaltyObject" and message.get("messageType") == "TEXT_AND_NOTIFY":
            now = self.clock()
            recent = [t for t in self._notified.get(rid, []) if t > now - DAY]
            if len(recent) >= NOTIFICATIONS_PER_DAY:
                self._notified[rid] = recent
                text = f"{rid} was already notified {NOTIFICATIONS_PER_DAY} times in 24 hours"
                raise _Refused(403, text, "quotaExceeded")
            self._notified[rid] = [*recent, now]
            self.notifications.append(Notification(rid, "message", message))
        target["messages"] = [*messages, message]
        return {"resource": dict(target)}


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(raw.decode("ascii", "replace")))
    try:
        return json.loads(raw)
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogleWallet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 10  # a backstop: stop() wakes idle keep-alive connections itself
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every kept-alive exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)
            self.server.fake.connections_opened += 1

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.fake._lock:
                self.server.fake._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.server.fake.handle(self.command, self.path, headers, raw)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


@contextmanager
def running_fake_google(issuer_id: str, **kw: Any) -> Iterator[FakeGoogleWallet]:
    """A started fake, stopped on exit (same arguments as FakeGoogleWallet)."""
    fake = FakeGoogleWallet(issuer_id, **kw)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
