"""A fake SMS.ru gateway on a loopback HTTP/1.1 server: /sms/send and /sms/cost with
``json=1``, form or query parameters, ``to[<number>]=<text>`` or ``to=a,b&msg=``.

It checks what SMS.ru checks: the ``api_id`` (status_code 200 when wrong), at most 100
numbers per request (207 for every number beyond), a number format of 11-15 digits
without ``+``. Tests mark numbers that cannot receive messages (207 for that number,
the others are sent), script a whole-request failure (HTTP 503 or a JSON error), and
read what was accepted.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.messaging_settings import SmsSettings

MAX_NUMBERS = 100
COST_PER_PART = 4.5  # roubles
_TO = re.compile(r"^to\[(\d+)\]$")
_NUMBER = re.compile(r"^\d{11,15}$")


def _parts(text: str) -> int:
    """SMS parts: 160 / 153 characters in GSM-7 (taken here as ASCII), 70 / 67 in UCS-2."""
    single, multi = (160, 153) if text.isascii() else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


@dataclass(frozen=True)
class Delivered:
    number: str
    text: str
    sender: str | None
    sms_id: str


@dataclass
class FakeSmsRu:
    api_id: str = "fake-api-id"
    port: int = 0
    unreachable: set[str] = field(default_factory=set)  # numbers answered with 207
    sent: list[Delivered] = field(default_factory=list)
    requests: list[tuple[str, int]] = field(default_factory=list)  # path, numbers
    _failures: deque[tuple[int, dict[str, Any] | None]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def settings(self, sender: str | None = "Brand") -> SmsSettings:
        return SmsSettings("smsru", f"http://127.0.0.1:{self.port}", self.api_id, sender)

    def env(self) -> dict[str, str]:
        return {
            "WALLETPASS_SMS_PROVIDER": "smsru",
            "WALLETPASS_SMS_URL": f"http://127.0.0.1:{self.port}",
            "WALLETPASS_SMS_API_KEY": self.api_id,
        }

    def fail_next(self, status: int = 503, body: dict[str, Any] | None = None) -> None:
        """The next request fails as a whole: an HTTP error, or (status 200) a JSON error."""
        self._failures.append((status, body))

    def answer(self, path: str, params: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failures:
                status, scripted = self._failures.popleft()
                return status, scripted or {"status": "ERROR", "status_code": 500}
        values = dict(params)
        if values.get("api_id") != self.api_id:
            return 200, {
                "status": "ERROR",
                "status_code": 200,
                "status_text": "Неправильный api_id",
            }
        texts: dict[str, str] = {}
        for key, value in params:
            match = _TO.match(key)
            if match:
                texts[match.group(1)] = value
        if "to" in values:
            texts.update({n.strip(): values.get("msg", "") for n in values["to"].split(",")})
        if not texts or any(not t for t in texts.values()):
            return 200, {"status": "ERROR", "status_code": 202, "status_text": "Нет текста"}
        per_number: dict[str, Any] = {}
        total_cost = 0.0
        total_parts = 0
        with self._lock:
            self.requests.append((path, len(texts)))
            for i, (number, text) in enumerate(texts.items()):
                if i >= MAX_NUMBERS or number in self.unreachable or not _NUMBER.match(number):
                    per_number[number] = {
                        "status": "ERROR",
                        "status_code": 207,
                        "status_text": "На этот номер нельзя отправлять сообщения",
                    }
                    continue
                parts = _parts(text)
                if path == "/sms/cost":
                    cost = round(parts * COST_PER_PART, 2)
                    per_number[number] = {
                        "status": "OK",
                        "status_code": 100,
                        "cost": cost,
                        "sms": parts,
                    }
                    total_cost += cost
                    total_parts += parts
                else:
                    sms_id = f"{len(self.sent) + 1:06d}-{number[-4:]}"
                    self.sent.append(Delivered(number, text, values.get("from"), sms_id))
                    per_number[number] = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        body: dict[str, Any] = {"status": "OK", "status_code": 100, "sms": per_number}
        if path == "/sms/cost":
            body |= {"total_cost": round(total_cost, 2), "total_sms": total_parts}
        else:
            body["balance"] = 4122.56
        return 200, body

    @contextmanager
    def running(self) -> Iterator[FakeSmsRu]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qsl(parts.query, keep_blank_values=True)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    params += parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
                if parts.path not in ("/sms/send", "/sms/cost"):
                    status, body = 404, {"status": "ERROR", "status_code": 404}
                else:
                    status, body = fake.answer(parts.path, params)
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
