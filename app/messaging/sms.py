"""SMS gateways behind one small interface; SMS.ru first.

A provider sends up to ``batch`` messages per request (each number its own text) and
answers per number, so one unreachable number never fails the others. A failure of the
whole request (network, HTTP status, bad key, no money) raises ``SmsError``.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlencode

from app.messaging_settings import SmsSettings

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The gateway did not take the request at all (every message of it stays unsent)."""


@dataclass(frozen=True)
class Sms:
    phone: str  # E.164, with the leading +
    text: str


@dataclass(frozen=True)
class SmsResult:
    phone: str
    ok: bool
    message_id: str | None = None
    error: str | None = None  # "<code> <the gateway's text>" for a refused number


@dataclass(frozen=True)
class SmsCost:
    messages: int  # recipients the gateway would accept
    parts: int  # SMS parts billed
    cost_minor: int  # in kopecks (the gateway's currency)
    refused: int  # numbers it would refuse


class SmsProvider(Protocol):
    batch: int

    def send(self, messages: Sequence[Sms]) -> list[SmsResult]: ...

    def cost(self, messages: Sequence[Sms]) -> SmsCost: ...


def _number(phone: str) -> str:
    return phone.removeprefix("+")


class SmsRu:
    """https://sms.ru/api/send and /api/cost with ``json=1``; different texts per number
    as ``to[<number>]=<text>``."""

    batch = 100

    def __init__(self, settings: SmsSettings, *, timeout: float = 20.0) -> None:
        self.url = settings.url
        self._key = settings.api_key
        self.sender = settings.sender
        self.timeout = timeout

    def _call(self, path: str, messages: Sequence[Sms]) -> dict[str, Any]:
        if not 0 < len(messages) <= self.batch:
            raise ValueError(f"1 to {self.batch} messages per request")
        fields = [("api_id", self._key), ("json", "1")]
        fields += [(f"to[{_number(m.phone)}]", m.text) for m in messages]
        if self.sender:
            fields.append(("from", self.sender))
        request = urllib.request.Request(  # noqa: S310 - the URL is a validated http(s) setting
            self.url + path,
            data=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise SmsError(f"SMS.ru answered HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise SmsError(f"SMS.ru unreachable: {type(exc).__name__}") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise SmsError("SMS.ru answered something that is not JSON") from None
        if not isinstance(body, dict) or body.get("status") != "OK":
            code = body.get("status_code") if isinstance(body, dict) else None
            text = body.get("status_text", "") if isinstance(body, dict) else ""
            raise SmsError(f"SMS.ru refused the request: {code} {text}".strip())
        return body

    def send(self, messages: Sequence[Sms]) -> list[SmsResult]:
        per_number = self._call("/sms/send", messages).get("sms") or {}
        results = []
        for m in messages:
            item = per_number.get(_number(m.phone))
            if not isinstance(item, dict):
                results.append(SmsResult(m.phone, False, error="no answer for this number"))
            elif item.get("status") == "OK":
                results.append(SmsResult(m.phone, True, message_id=str(item.get("sms_id") or "")))
            else:
                error = f"{item.get('status_code')} {item.get('status_text', '')}".strip()
                results.append(SmsResult(m.phone, False, error=error[:200]))
        return results

    def cost(self, messages: Sequence[Sms]) -> SmsCost:
        per_number = self._call("/sms/cost", messages).get("sms") or {}
        ok = [v for v in per_number.values() if isinstance(v, dict) and v.get("status") == "OK"]
        total = sum(Decimal(str(v.get("cost", 0))) for v in ok)
        return SmsCost(
            messages=len(ok),
            parts=sum(int(v.get("sms", 1)) for v in ok),
            cost_minor=int(total * 100),
            refused=len(messages) - len(ok),
        )


def build_sms(settings: SmsSettings | None) -> SmsProvider | None:
    if settings is None:
        return None
    if settings.provider == "smsru":
        return SmsRu(settings)
    raise ValueError(f"unknown SMS provider {settings.provider!r}")
