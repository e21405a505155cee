"""Live mode: shoppers playing against a running service through its public APIs.

At a given rate, for a given time, the driver picks an action the way a chain's day
goes: a new shopper enrolls (enrollment API), downloads the card and adds it to a wallet
app (the PassKit registration of that app, with a made-up device id and push token),
or a known shopper buys at a till (POS API, with a terminal key). With a staff API
token it also sends one campaign through the CRM API. Seeded, like the bulk mode.
"""

from __future__ import annotations

import io
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.clock import Clock, SystemClock
from app.simulate.model import WALLET_APPS

# Authorization scheme and headers each wallet app speaks (docs/passkit.md).
APP_HEADERS: dict[str, tuple[str, dict[str, str]]] = {
    "apple_wallet": ("ApplePass", {"User-Agent": "Passbook/1.0 CFNetwork"}),
    "walletpasses": ("AndroidPass", {"User-Agent": "WalletPasses/3.2"}),
    "passwallet": ("AttidoPass", {}),
    "pass2u": ("ApplePass", {"X-Pass-Client": "passes"}),
    "walletunion": ("WalletUnionPass", {"User-Agent": "WalletUnion/2.0"}),
    "walletunion_hms": ("WalletUnionHMSPass", {"User-Agent": "WalletUnionHMS/2.0"}),
}


@dataclass
class Card:
    barcode: str
    serial: str
    token: str


@dataclass
class Done:
    """What the driver did: answers per action and status, and its cards."""

    actions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    campaign_id: int | None = None


class LiveError(Exception):
    pass


class Driver:
    def __init__(
        self,
        url: str,
        slug: str,
        *,
        seed: int = 1,
        terminal_key: str | None = None,
        crm_token: str | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise LiveError(f"--url must be an http(s) URL, not {url!r}")
        self.base = f"{parsed.scheme}://{parsed.netloc}"
        self.slug = slug
        self.rng = random.Random(f"{seed}-live")
        self._phones = random.Random(time.time_ns())
        self.seed = seed
        self.terminal_key = terminal_key
        self.crm_token = crm_token
        self.timeout = timeout
        self.clock = clock or SystemClock()  # the campaign's "send now"
        self.cards: list[Card] = []
        self.pass_type_id: str | None = None
        self.enrolled = 0
        self.receipts = 0

    def _call(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _path(self, url: str) -> str:
        """Links in answers name the service's public URL; we talk to --url."""
        parts = urllib.parse.urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def enroll(self, done: Done) -> None:
        self.enrolled += 1
        n = self.enrolled
        # Fresh numbers on every run (a rerun with the same seed must not collide).
        phone = f"+7921{self._phones.randrange(10**7):07d}"
        status, body = self._call(
            "POST",
            f"/api/v1/programs/{self.slug}/enrollments",
            self._shopper(n, phone),
        )
        done.actions[f"enroll {status}"] += 1
        if status != 201:
            done.errors["enroll"] += 1
            return
        links: dict[str, str] = json.loads(body)["links"]
        app = self._wallet_app()
        if app is None or app == "google":
            return  # kept on paper, or in Google Wallet (no PassKit calls to make)
        status, pkpass = self._call("GET", self._path(links["apple_pass"]))
        done.actions[f"download {status}"] += 1
        if status != 200:
            done.errors["download"] += 1
            return
        with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
            data: dict[str, Any] = json.loads(archive.read("pass.json"))
        card = Card(
            data["barcodes"][0]["message"], data["serialNumber"], data["authenticationToken"]
        )
        self.pass_type_id = data["passTypeIdentifier"]
        self.cards.append(card)
        self._register(done, card, app)

    def _shopper(self, n: int, phone: str) -> dict[str, object]:
        body: dict[str, object] = {"name": f"Live shopper {n}", "phone": phone, "consent": True}
        if self.rng.random() < 0.8:  # as in the bulk chain: most give a birthday
            born = date(1960, 1, 1) + timedelta(days=self.rng.randrange(45 * 365))
            body["birthday"] = born.isoformat()
        body["locale"] = "ru" if self.rng.random() < 0.85 else "en"
        return body

    def _wallet_app(self) -> str | None:
        x, total = self.rng.random(), 0.0
        for app, share in WALLET_APPS:
            total += share
            if x < total:
                return app if app is None or app == "google" or app in APP_HEADERS else None
        return None

    def _register(self, done: Done, card: Card, app: str) -> None:
        scheme, headers = APP_HEADERS[app]
        device = f"sim{self.seed}x{self.rng.getrandbits(64):016x}"
        route = "registrations_attido" if app == "passwallet" else "registrations"
        body: dict[str, str] = {"pushToken": f"{self.rng.getrandbits(128):032x}" * 2}
        if app == "passwallet":
            body["pushServiceUrl"] = "https://push.passwallet.net/v1/pushUpdates"
        status, _ = self._call(
            "POST",
            f"/passkit/v1/devices/{device}/{route}/{self.pass_type_id}/{card.serial}",
            body,
            {**headers, "Authorization": f"{scheme} {card.token}"},
        )
        done.actions[f"register {status}"] += 1
        if status not in (200, 201):
            done.errors["register"] += 1

    def buy(self, done: Done) -> None:
        if not self.terminal_key:
            return self.enroll(done)
        self.receipts += 1
        body: dict[str, object] = {
            "receipt_id": f"live-{self.seed}-{time.time_ns()}-{self.receipts}",
            "amount": int(self.rng.lognormvariate(12.2, 0.4)),
        }
        if self.cards and self.rng.random() > 0.2:
            body["barcode"] = self.rng.choice(self.cards).barcode
        status, _ = self._call(
            "POST",
            "/api/pos/v1/purchases",
            body,
            {"Authorization": f"Bearer {self.terminal_key}"},
        )
        done.actions[f"purchase {status}"] += 1
        if status not in (200, 201):
            done.errors["purchase"] += 1
        return None

    def campaign(self, done: Done) -> None:
        status, body = self._call(
            "POST",
            f"/api/v1/programs/{self.slug}/campaigns",
            {
                "name": f"Live demo offer (seed {self.seed})",
                "offer_en": "Double points this week",
                "offer_ru": "Двойные баллы на этой неделе",
                "segment": {},
                "send_at": self.clock.now().isoformat(),
            },
            {"Authorization": f"Bearer {self.crm_token}"},
        )
        done.actions[f"campaign {status}"] += 1
        if status == 201:
            done.campaign_id = json.loads(body).get("id")
        else:
            done.errors["campaign"] += 1

    def run(self, *, rate: float, duration: float, actions: int | None = None) -> Done:
        """Act ``rate`` times a second (paced, not bursty) for ``duration`` seconds, or
        for exactly ``actions`` calls when given (what a test wants on a loaded machine)."""
        done = Done()
        started = time.monotonic()
        n = 0
        while True:
            elapsed = time.monotonic() - started
            progress = n / actions if actions is not None else elapsed / duration
            if progress >= 1:
                break
            due = started + n / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            if self.crm_token and done.campaign_id is None and progress > 0.5 and self.cards:
                self.campaign(done)
            elif not self.cards or self.rng.random() < 0.3:
                self.enroll(done)
            else:
                self.buy(done)
            n += 1
        done.seconds = time.monotonic() - started
        return done


def summary(done: Done) -> str:
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(done.actions.items()))
    errors = sum(done.errors.values())
    return f"{sum(done.actions.values())} calls in {done.seconds:.1f} s ({parts}); {errors} failed"
