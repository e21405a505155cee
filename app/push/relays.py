"""The push relays of the Android .pkpass apps, one channel each (docs/passkit.md).

Every relay takes the pass type id and a list of the app's push tokens and wakes those
phones; the phone then fetches the pass from our PassKit web service. Each channel
batches within its relay's limit, retries 429 (honouring ``Retry-After``), 5xx and lost
connections with bounded backoff, halves a batch the relay calls too large (413), and
reads what the relay says about each token: expired or unknown tokens are pruned.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.push.relay_http import Answer, RelayHttp, retry_after
from app.push.relay_urls import RelayUrlError, checked_address
from app.settings import RelaySettings

log = logging.getLogger(__name__)

ACCEPTED, PRUNE, REJECTED, FAILED, CONFIG = (
    "accepted",
    "unregistered",  # expired or unknown at the relay: the registration is removed
    "rejected",  # final: our request was refused (logged), not retried
    "failed",  # no final answer after the retries: stays owed, the sweeper tries again
    "config_error",  # the relay refused our key: the channel raises an alarm and pauses
)


@dataclass(frozen=True)
class RelayResult:
    token: str
    outcome: str
    status: int | None
    reason: str | None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Retrying:
    attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_wait: float = 60.0  # a longer Retry-After ends the call: the sweeper comes back


class RelayChannel:
    """Common send loop; subclasses say how the request looks and how to read answers."""

    name = ""
    max_batch = 1000
    auth_refusal_is_config = True  # a relay with our key: 401/403 means the key is wrong

    def __init__(
        self,
        settings: RelaySettings,
        http: RelayHttp,
        *,
        retrying: Retrying = Retrying(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self.key, self.off = settings.url, settings.key, settings.off
        self.http, self.retrying, self.sleep = http, retrying, sleep

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        raise NotImplementedError

    def read(self, tokens: Sequence[str], answer: Answer) -> list[RelayResult]:
        """A 2xx answer: every token accepted unless the body names expired/unknown ones."""
        data = _json(answer.body)
        dead: set[str] = set()
        if isinstance(data, dict):
            for field in ("expired_push_tokens", "unknown_push_tokens"):
                listed = data.get(field)
                if isinstance(listed, list):
                    dead.update(t for t in listed if isinstance(t, str))
        return [
            RelayResult(t, PRUNE, answer.status, "expired or unknown")
            if t in dead
            else RelayResult(t, ACCEPTED, answer.status, None)
            for t in tokens
        ]

    def pin(self, url: str | None) -> str | None:
        return None

    def send(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None = None
    ) -> list[RelayResult]:
        if not tokens:
            return []
        if self.off is not None:
            return _all(tokens, FAILED, None, f"channel off: {self.off}")
        out: list[RelayResult] = []
        for i in range(0, len(tokens), self.max_batch):
            out += self._call(pass_type_id, list(tokens[i : i + self.max_batch]), url)
        return out

    def _call(self, pass_type_id: str, tokens: list[str], url: str | None) -> list[RelayResult]:
        try:
            pin = self.pin(url)
            endpoint, headers, body = self.request(pass_type_id, tokens, url)
        except RelayUrlError as exc:
            log.warning("%s: relay URL refused at send time: %s", self.name, exc)
            return _all(tokens, REJECTED, None, f"refused relay URL: {exc}")
        payload = json.dumps(body, separators=(",", ":")).encode()
        status: int | None = None
        reason: str | None = None
        for attempt in range(1, self.retrying.attempts + 1):
            wait = min(self.retrying.backoff_max, self.retrying.backoff_base * 2 ** (attempt - 1))
            try:
                answer = self.http.post(endpoint, headers, payload, pin=pin)
            except (OSError, http.client.HTTPException) as exc:
                status, reason = None, f"no answer: {type(exc).__name__}"
            else:
                status = answer.status
                if 200 <= status < 300:
                    return self.read(tokens, answer)
                reason = _reason(answer)
                if status == 413 and len(tokens) > 1:  # our limit is above the relay's
                    half = len(tokens) // 2
                    log.warning("%s: 413 for %d tokens, halving", self.name, len(tokens))
                    return self._call(pass_type_id, tokens[:half], url) + self._call(
                        pass_type_id, tokens[half:], url
                    )
                if status in (401, 403) and self.auth_refusal_is_config:
                    log.error("%s refused our key: %s %s", self.name, status, reason)
                    return _all(tokens, CONFIG, status, reason)
                if status != 429 and status < 500:
                    log.warning(
                        "%s rejected %d tokens: %s %s", self.name, len(tokens), status, reason
                    )
                    return _all(tokens, REJECTED, status, reason)
                # A wait slept out by self.sleep: an HTTP date counts from wall time.
                asked = retry_after(answer.headers.get("retry-after"), time.time())
                if asked is not None:
                    wait = asked
            if attempt == self.retrying.attempts or wait > self.retrying.max_wait:
                break
            self.sleep(wait)
        log.warning("%s: gave up on %d tokens: %s %s", self.name, len(tokens), status, reason)
        return _all(tokens, FAILED, status, reason)


def _all(
    tokens: Sequence[str], outcome: str, status: int | None, reason: str | None
) -> list[RelayResult]:
    return [RelayResult(t, outcome, status, reason) for t in tokens]


def _json(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _reason(answer: Answer) -> str:
    data = _json(answer.body)
    if isinstance(data, dict):
        for field in ("reason", "error", "message", "status"):
            if isinstance(data.get(field), str):
                return str(data[field])[:120]
    return answer.body[:120].decode("utf-8", "replace").strip()


class WalletPasses(RelayChannel):
    """walletpasses.io: ``Authorization: <key>`` is optional (rate limits are kinder)."""

    name = "walletpasses"

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert self.url is not None
        headers = {"Authorization": self.key} if self.key else {}
        return self.url, headers, {"passTypeIdentifier": pass_type_id, "pushTokens": list(tokens)}


class PassWallet(RelayChannel):
    """PassWallet (Attido): the relay is the ``pushServiceUrl`` each registration sent.
    It is checked again here, and the connection goes to the address that passed the
    check, because the name may resolve elsewhere by now."""

    name = "passwallet"
    auth_refusal_is_config = False  # the phone's relay, not our key

    def __init__(self, http: RelayHttp, *, production: bool, **kw: Any) -> None:
        super().__init__(
            RelaySettings(url=None, key=None, key_required=False, off=None), http, **kw
        )
        self.production = production

    def pin(self, url: str | None) -> str | None:
        if url is None:
            raise RelayUrlError("the registration has no pushServiceUrl")
        return checked_address(url, production=self.production)

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert url is not None
        return (
            url.rstrip("/") + "/v1/pushUpdates",
            {},
            {"passTypeID": pass_type_id, "pushTokens": list(tokens)},
        )


class Pass2U(RelayChannel):
    """Pass2U: ``x-api-key``, registration ids (FCM) in ``registrationIds``, 1 000 a call."""

    name = "pass2u"

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert self.url is not None and self.key is not None
        endpoint = self.url.replace("{passTypeIdentifier}", quote(pass_type_id, safe=""))
        return endpoint, {"x-api-key": self.key}, {"registrationIds": list(tokens)}


class Passworks(RelayChannel):
    """Passworks: answers with FCM's multicast result, one entry per token in order."""

    name = "passworks"
    max_batch = 500  # FCM's multicast limit

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert self.url is not None and self.key is not None
        body = {"passTypeIdentifier": pass_type_id, "pushTokens": list(tokens)}
        return self.url, {"Authorization": self.key}, body

    def read(self, tokens: Sequence[str], answer: Answer) -> list[RelayResult]:
        data = _json(answer.body)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(tokens):
            return super().read(tokens, answer)
        out = []
        for token, item in zip(tokens, results, strict=True):
            error = item.get("error") if isinstance(item, dict) else None
            if not error:
                out.append(RelayResult(token, ACCEPTED, answer.status, None))
            elif error in ("NotRegistered", "InvalidRegistration", "MismatchSenderId"):
                out.append(RelayResult(token, PRUNE, answer.status, str(error)))
            elif error in ("Unavailable", "InternalServerError"):
                out.append(RelayResult(token, FAILED, answer.status, str(error)))
            else:
                out.append(RelayResult(token, REJECTED, answer.status, str(error)))
        return out


class WalletUnion(RelayChannel):
    """WalletUnion, phones with Google services: FCM tokens, at most 50 a call.
    ``status`` FCM_FAILED leaves the unlisted tokens owed; ERROR rejects them."""

    name = "walletunion"
    max_batch = 50
    hms = False

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert self.url is not None
        headers = {"Authorization": self.key} if self.key else {}
        body = {"passTypeIdentifier": pass_type_id, "pushTokens": list(tokens), "hms": self.hms}
        return self.url, headers, body

    def read(self, tokens: Sequence[str], answer: Answer) -> list[RelayResult]:
        results = super().read(tokens, answer)
        data = _json(answer.body)
        status = data.get("status") if isinstance(data, dict) else None
        other = {"FCM_FAILED": FAILED, "ERROR": REJECTED}.get(str(status))
        if other is None:
            return results
        return [
            r if r.outcome == PRUNE else RelayResult(r.token, other, r.status, str(status))
            for r in results
        ]


class WalletUnionHms(WalletUnion):
    """WalletUnion on Huawei phones without Google services: HMS tokens, 1 000 a call."""

    name = "walletunion_hms"
    max_batch = 1000
    hms = True


class PassHub(RelayChannel):
    """PassHub (in Telegram): ``Authorization: Bearer <key>``, snake_case body."""

    name = "passhub"

    def request(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        assert self.url is not None and self.key is not None
        headers = {"Authorization": f"Bearer {self.key}"}
        return self.url, headers, {"pass_type_id": pass_type_id, "push_tokens": list(tokens)}


def build_relays(
    relays: Mapping[str, RelaySettings], http: RelayHttp, *, production: bool, **kw: Any
) -> list[RelayChannel]:
    """Every relay channel from the settings (a channel without URL or key says why)."""
    union = relays["walletunion"]
    return [
        WalletPasses(relays["walletpasses"], http, **kw),
        PassWallet(http, production=production, **kw),
        Pass2U(relays["pass2u"], http, **kw),
        Passworks(relays["passworks"], http, **kw),
        WalletUnion(union, http, **kw),
        WalletUnionHms(union, http, **kw),
        PassHub(relays["passhub"], http, **kw),
    ]
