"""The simulated chain, drawn from a seed (pure: no database, no I/O).

Shoppers have a lifecycle stage (newcomer, active, at risk, lost) that decides when
they enrolled, when they last shopped and how often they come; a home store; a basket
size; a wallet app holding their card (or none); a birthday. Receipts are drawn in
chunks so a history of any length streams through constant memory. A campaign gives
each targeted card outside the holdout one extra purchase with a known probability and
basket, so its true effect on revenue per card is known exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

DAY = 86_400.0
# (stage, share of members, visits weight, days since the last visit: low, high)
STAGES = (
    ("newcomer", 0.10, 1.2, 0, 10),
    ("active", 0.45, 1.0, 0, 20),
    ("at_risk", 0.20, 0.6, 90, 180),
    ("lost", 0.25, 0.4, 180, 420),
)
# Where members keep their card: None = not installed in any wallet.
WALLET_APPS = (
    (None, 0.28),
    ("apple_wallet", 0.38),
    ("google", 0.17),
    ("walletpasses", 0.06),
    ("walletunion", 0.04),
    ("passwallet", 0.03),
    ("pass2u", 0.02),
    ("walletunion_hms", 0.02),
)
ANONYMOUS_SHARE = 0.2  # receipts without a card
HOME_STORE_SHARE = 0.85
CAMPAIGN_DAYS = 14  # the campaign report's window


@dataclass(frozen=True)
class Spec:
    seed: int = 1
    members: int = 2_000
    receipts: int = 20_000
    stores: int = 20
    days: int = 120  # length of the receipt history
    end: datetime = datetime(2026, 11, 30, 18, tzinfo=UTC)
    campaigns: int = 1
    newcomer_days: int = 60

    def __post_init__(self) -> None:
        for name in ("members", "stores", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.receipts < 0 or self.campaigns < 0:
            raise ValueError("receipts and campaigns cannot be negative")
        if self.end.tzinfo is None:
            raise ValueError("end must be timezone-aware")

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


@dataclass(frozen=True)
class Shopper:
    index: int
    stage: str
    stage_since: datetime
    enrolled_at: datetime
    last_visit: datetime
    home_store: int
    basket: int  # mean basket, minor units
    wallet_app: str | None
    birthday: date | None
    locale: str
    consent: bool
    weight: float  # share of the history's visits (unnormalised)


@dataclass(frozen=True)
class Store:
    index: int
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Receipt:
    shopper: int | None  # None: no card shown
    store: int
    at: datetime
    amount: int


@dataclass(frozen=True)
class CampaignPlan:
    """A campaign sent at ``started_at`` to ``targets`` (shopper indexes): each target
    outside the holdout buys once more with ``response_rate`` for a uniform basket in
    ``extra_basket``, so the true uplift of revenue per card is their product's mean."""

    index: int
    started_at: datetime
    targets: tuple[int, ...]
    response_rate: float
    extra_basket: tuple[int, int]

    @property
    def true_uplift_per_card(self) -> float:
        low, high = self.extra_basket
        return self.response_rate * (low + high) / 2


def stores(spec: Spec) -> list[Store]:
    rng = random.Random(f"{spec.seed}-stores")
    return [
        Store(
            i,
            f"s{i + 1:03d}",
            f"Store {i + 1}",
            round(55.75 + rng.uniform(-0.3, 0.3), 5),
            round(37.62 + rng.uniform(-0.5, 0.5), 5),
        )
        for i in range(spec.stores)
    ]


def shoppers(spec: Spec) -> list[Shopper]:
    rng = random.Random(f"{spec.seed}-shoppers")
    end_s, start_s = spec.end.timestamp(), spec.start.timestamp()
    span = max(spec.days, 730) * DAY
    stage_cum = list(accumulate(s[1] for s in STAGES))
    app_cum = list(accumulate(w for _, w in WALLET_APPS))
    out: list[Shopper] = []
    for i in range(spec.members):
        name, _, freq, gap_low, gap_high = STAGES[_pick(rng.random(), stage_cum)]
        last = end_s - rng.uniform(gap_low, gap_high) * DAY
        if name == "newcomer":
            enrolled = end_s - rng.uniform(0, spec.newcomer_days) * DAY
            last = max(last, enrolled)
        else:
            enrolled = min(last, end_s - spec.newcomer_days * DAY) - rng.uniform(0, span)
        # The part of the history they shop in, times how often they come.
        window = max(0.0, min(last, end_s) - max(enrolled, start_s))
        weight = freq * rng.lognormvariate(0, 0.6) * window
        stage_since = {
            "newcomer": enrolled,
            "active": max(enrolled, end_s - rng.uniform(0, 300) * DAY),
            "at_risk": last + 90 * DAY,
            "lost": last + 180 * DAY,
        }[name]
        born = None
        if rng.random() < 0.8:
            born = date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))
        out.append(
            Shopper(
                i,
                name,
                _at(min(stage_since, end_s)),
                _at(enrolled),
                _at(last),
                rng.randrange(spec.stores),
                int(rng.lognormvariate(12.2, 0.4)),  # ~2 000 roubles in kopecks
                WALLET_APPS[_pick(rng.random(), app_cum)][0],
                born,
                "ru" if rng.random() < 0.85 else "en",
                rng.random() < 0.7,
                weight,
            )
        )
    return out


def receipts(spec: Spec, people: list[Shopper], chunk: int = 50_000) -> Iterator[list[Receipt]]:
    """The history's receipts in chunks (not in time order)."""
    rng = random.Random(f"{spec.seed}-receipts")
    start_s, end_s = spec.start.timestamp(), spec.end.timestamp()
    cum = list(accumulate(p.weight for p in people))
    if not cum or cum[-1] <= 0:
        cum = []
    indexes = range(len(people))
    done = 0
    while done < spec.receipts:
        n = min(chunk, spec.receipts - done)
        picks = rng.choices(indexes, cum_weights=cum, k=n) if cum else [None] * n
        rows: list[Receipt] = []
        for who in picks:
            if who is None or rng.random() < ANONYMOUS_SHARE:
                at = start_s + rng.random() * (end_s - start_s)
                amount = int(rng.lognormvariate(12.0, 0.5))
                rows.append(Receipt(None, rng.randrange(spec.stores), _at(at), amount))
                continue
            p = people[who]
            low = max(p.enrolled_at.timestamp(), start_s)
            # Shoppers still coming keep coming to the end: uniform visits up to a "last
            # visit" drawn days before the end made every week thinner than the one before.
            still_coming = p.stage in ("newcomer", "active")
            high = end_s if still_coming else min(p.last_visit.timestamp(), end_s)
            at = low + rng.random() * (high - low)
            home = rng.random() < HOME_STORE_SHARE
            store = p.home_store if home else rng.randrange(spec.stores)
            rows.append(Receipt(who, store, _at(at), int(p.basket * rng.lognormvariate(0, 0.5))))
        done += n
        yield rows


def campaigns(spec: Spec, people: list[Shopper]) -> list[CampaignPlan]:
    """One campaign a month back from the end (the first 21 days before it, so its
    14-day window is complete), each to the consenting active and at-risk members."""
    rng = random.Random(f"{spec.seed}-campaigns")
    plans = []
    for c in range(spec.campaigns):
        started = spec.end - timedelta(days=21 + 30 * c)
        targets = tuple(
            p.index
            for p in people
            if p.consent and p.stage in ("active", "at_risk") and p.enrolled_at < started
        )
        plans.append(
            CampaignPlan(
                c,
                started,
                targets,
                round(rng.uniform(0.03, 0.15), 3),
                (rng.randrange(50_000, 150_000), rng.randrange(150_000, 400_000)),
            )
        )
    return plans


def responses(spec: Spec, plan: CampaignPlan, in_holdout: Callable[[int], bool]) -> list[Receipt]:
    """The extra purchases the campaign causes among targets outside the holdout."""
    rng = random.Random(f"{spec.seed}-responses-{plan.index}")
    low, high = plan.extra_basket
    out = []
    start = plan.started_at.timestamp()
    for who in plan.targets:
        if in_holdout(who) or rng.random() >= plan.response_rate:
            continue
        at = start + rng.random() * (CAMPAIGN_DAYS * DAY - 3600)
        out.append(Receipt(who, rng.randrange(spec.stores), _at(at), rng.randint(low, high)))
    return out


def _pick(x: float, cum: list[float]) -> int:
    total = cum[-1]
    for i, c in enumerate(cum):
        if x * total < c:
            return i
    return len(cum) - 1


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
