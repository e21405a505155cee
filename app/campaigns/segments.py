"""Segments: filters over cards, combined with AND, evaluated in SQL."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, extract, func, select

from app.bounds import MAX_DAYS, MAX_ID, MAX_MONEY
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Tier
from app.push.wallet_apps import APPS
from app.till.models import Receipt, ReceiptLine

STAGES = ("newcomer", "active", "at_risk", "lost")
# Where the card is now: a group (apple = Apple Wallet, android_pkpass = any Android app
# that opens .pkpass files, any, none) or one wallet app by name.
WALLET_GROUPS = ("any", "none", "apple", "google", "android_pkpass")
WALLETS = (*WALLET_GROUPS, *APPS)
# What the console offers (apple_wallet is the same as apple).
WALLET_CHOICES = tuple(w for w in WALLETS if w != "apple_wallet")


class WalletCondition(Protocol):
    """Builds the SQL condition on Card.id for a ``wallet`` value (app.services.wallet_stats:
    the registrations and Google objects live in app.passes, which this layer cannot read)."""

    def __call__(self, value: str) -> ColumnElement[bool]: ...


LINE_KEYS = ("category", "size", "sku")
MAX_LINE_FILTERS = 10


@dataclass(frozen=True)
class LineFilter:
    """Receipt lines with all the given values (category, size, SKU; exact text) bought
    within the last ``within_days`` days (None: ever)."""

    category: str | None = None
    size: str | None = None
    sku: str | None = None
    within_days: int | None = None

    @classmethod
    def parse(cls, data: Any, where: str, errors: dict[str, str]) -> LineFilter | None:
        if not isinstance(data, dict):
            errors[where] = "must be an object with category, size, sku, within_days"
            return None
        for key in set(data) - {*LINE_KEYS, "within_days"}:
            errors[f"{where}.{key}"] = "is not a line filter field"
        values: dict[str, Any] = {}
        for key in LINE_KEYS:
            value = data.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not 1 <= len(value) <= 200:
                errors[f"{where}.{key}"] = "must be text of 1-200 characters"
            else:
                values[key] = value
        if not any(data.get(key) is not None for key in LINE_KEYS):
            errors[where] = "needs a category, a size or an SKU"
        days = data.get("within_days")
        if days is not None and (
            not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
        ):
            errors[f"{where}.within_days"] = "must be a whole number of days from 1 to 3650"
        return cls(within_days=days, **values)

    def condition(self, now: datetime) -> ColumnElement[bool]:
        """EXISTS such a line on the card (Card.id of the outer query)."""
        found = select(ReceiptLine.id).where(ReceiptLine.card_id == Card.id)
        for key in LINE_KEYS:
            value = getattr(self, key)
            if value is not None:
                found = found.where(getattr(ReceiptLine, key) == value)
        if self.within_days is not None:
            found = found.where(ReceiptLine.created_at >= now - timedelta(days=self.within_days))
        return found.exists()


def _line_filters(
    data: dict[str, Any], name: str, errors: dict[str, str]
) -> tuple[LineFilter, ...]:
    raw = data.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_LINE_FILTERS:
        errors[name] = f"must be a list of at most {MAX_LINE_FILTERS} line filters"
        return ()
    parsed = [LineFilter.parse(item, f"{name}[{i}]", errors) for i, item in enumerate(raw)]
    return tuple(f for f in parsed if f is not None)


@dataclass(frozen=True)
class Segment:
    stages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    birthday_month: int | None = None
    store_id: int | None = None  # bought in this store at least once
    last_purchase_within_days: int | None = None
    no_purchase_for_days: int | None = None
    min_spend: int | None = None  # money paid, minor units, all time
    max_spend: int | None = None
    wallet: str | None = None  # one of WALLETS
    # Bought lines matching each filter (all of them); ``not_bought``: none matching any.
    bought: tuple[LineFilter, ...] = ()
    not_bought: tuple[LineFilter, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        errors: dict[str, str] = {}
        known = set(cls.__dataclass_fields__)
        for key in set(data) - known:
            errors[key] = "is not a segment filter"
        stages = _texts(data, "stages", errors)
        if any(s not in STAGES for s in stages):
            errors["stages"] = f"each must be one of {', '.join(STAGES)}"
        tiers = _texts(data, "tiers", errors)
        month = data.get("birthday_month")
        if month is not None and (not _is_int(month) or not 1 <= month <= 12):
            errors["birthday_month"] = "must be a month number 1-12"
        for name, high in (
            ("last_purchase_within_days", MAX_DAYS),
            ("no_purchase_for_days", MAX_DAYS),
            ("min_spend", MAX_MONEY),
            ("max_spend", MAX_MONEY),
            ("store_id", MAX_ID),
        ):
            value = data.get(name)
            if value is not None and (not _is_int(value) or not 0 <= value <= high):
                errors[name] = f"must be a whole number from 0 to {high}"
        wallet = data.get("wallet")
        if wallet is not None and (not isinstance(wallet, str) or wallet not in WALLETS):
            errors["wallet"] = f"must be one of {', '.join(WALLETS)}"
        bought = _line_filters(data, "bought", errors)
        not_bought = _line_filters(data, "not_bought", errors)
        if errors:
            raise ValidationError({f"segment.{k}": v for k, v in errors.items()})
        return cls(
            stages=stages,
            tiers=tiers,
            birthday_month=month,
            store_id=data.get("store_id"),
            last_purchase_within_days=data.get("last_purchase_within_days"),
            no_purchase_for_days=data.get("no_purchase_for_days"),
            min_spend=data.get("min_spend"),
            max_spend=data.get("max_spend"),
            wallet=wallet,
            bought=bought,
            not_bought=not_bought,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _texts(data: dict[str, Any], name: str, errors: dict[str, str]) -> tuple[str, ...]:
    value = data.get(name) or ()
    if not isinstance(value, list | tuple) or len(value) > 50:
        errors[name] = "must be a list of names"
        return ()
    if not all(isinstance(item, str) and 0 < len(item) <= 64 for item in value):
        errors[name] = "each must be a name (text up to 64 characters)"
        return ()
    return tuple(value)


def to_json(segment: Segment) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None}
        return value

    return {k: plain(v) for k, v in asdict(segment).items() if v not in (None, (), [])}


def card_ids(
    program_id: int, segment: Segment, now: datetime, wallet: WalletCondition | None = None
) -> Select[int]:
    """SELECT of the active cards of a program that the segment matches, among members
    with a marketing consent (every campaign is advertising: no consent, no offer); a
    ``wallet`` filter needs the ``wallet`` condition builder."""
    stmt = (
        select(Card.id)
        .join(Member, Member.id == Card.member_id)
        .where(
            Card.program_id == program_id,
            Card.status == "active",
            Member.marketing_consent.is_(True),
        )
    )
    if segment.stages:
        stmt = stmt.where(Member.stage.in_(segment.stages))
    if segment.tiers:
        stmt = stmt.join(Tier, Tier.id == Card.tier_id).where(Tier.code.in_(segment.tiers))
    if segment.birthday_month is not None:
        stmt = stmt.where(extract("month", Member.birthday) == segment.birthday_month)
    if segment.wallet is not None:
        if wallet is None:
            raise ValueError("a wallet filter needs the wallet condition builder")
        stmt = stmt.where(wallet(segment.wallet))
    if segment.store_id is not None:
        stmt = stmt.where(
            select(Receipt.id)
            .where(Receipt.card_id == Card.id, Receipt.store_id == segment.store_id)
            .exists()
        )
    if segment.last_purchase_within_days is not None:
        since = now - timedelta(days=segment.last_purchase_within_days)
        stmt = stmt.where(
            select(Receipt.id)
            .where(Receipt.card_id == Card.id, Receipt.created_at >= since)
            .exists()
        )
    if segment.no_purchase_for_days is not None:
        since = now - timedelta(days=segment.no_purchase_for_days)
        stmt = stmt.where(
            ~select(Receipt.id)
            .where(Receipt.card_id == Card.id, Receipt.created_at >= since)
            .exists()
        )
    for line in segment.bought:
        stmt = stmt.where(line.condition(now))
    for line in segment.not_bought:
        stmt = stmt.where(~line.condition(now))
    if segment.min_spend is not None or segment.max_spend is not None:
        spend = (
            select(func.coalesce(func.sum(Receipt.amount_due), 0))
            .where(Receipt.card_id == Card.id)
            .scalar_subquery()
        )
        if segment.min_spend is not None:
            stmt = stmt.where(spend >= segment.min_spend)
        if segment.max_spend is not None:
            stmt = stmt.where(spend <= segment.max_spend)
    return stmt
