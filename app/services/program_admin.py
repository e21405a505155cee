"""Creating, editing and archiving programs (admins, in the console or the CLI).

A program's settings come as text fields (what a form or a command line sends) and its
tiers as rows of text fields; everything is checked against app.bounds and answered
field by field. What a card shows (brand, program name, bonuses, tier names and
discounts) changing marks every pass of the program changed in one UPDATE.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bounds import MAX_DAYS, MAX_MONEY, control_character_errors, whole_number
from app.clock import Clock
from app.errors import DomainError
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program, Tier
from app.passes.sync import mark_program_changed
from app.services.staff import audit
from app.staff.models import StaffUser

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
TIER_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CURRENCIES = ("RUB", "KZT", "BYN", "UZS", "AMD", "GEL", "EUR", "USD")
LOCALES = ("ru", "en")
GRANTS = ("default", "staff", "spend")
MAX_TIERS = 10
MAX_POINTS = 10**9
MAX_POINT_VALUE = 10**6  # minor units: 10 000 roubles a point is already absurd

FIELDS = (
    "slug",
    "name",
    "brand_name",
    "timezone",
    "currency",
    "default_locale",
    "earn_rate",
    "redeem_share",
    "point_value",
    "registration_bonus",
    "registration_bonus_days",
    "birthday_bonus",
    "birthday_bonus_days",
    "points_validity_days",
)
TIER_FIELDS = ("code", "name_ru", "name_en", "discount", "grant", "threshold")
# What every card of the program shows (app.passes.content): a change re-issues them.
SHOWN = ("name", "brand_name", "registration_bonus", "birthday_bonus")
TEMPLATE = "demo"
HELD_TIERS = "cards are on these tiers, move them first:"
COLORS = {"background_color": "#1F3A5F", "foreground_color": "#FFFFFF", "label_color": "#FFD166"}


class ProgramArchivedError(DomainError):
    """A change to an archived program (it is read-only until restored)."""

    code = "program_archived"

    def __init__(self, slug: str) -> None:
        super().__init__(f"the program {slug!r} is archived")


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    return name in _zones()


def _decimal(raw: str | None) -> Decimal | None:
    text = (raw or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,2})?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


def percent_bp(raw: str | None) -> int | None:
    """ "7", "7.5" or "7,5" (percent) as basis points, 0..10 000; None when not that."""
    value = _decimal(raw)
    if value is None or value > 100:
        return None
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money_minor(raw: str | None) -> int | None:
    """ "1", "0,50" or "15 000" (major units) as minor units; None when not that."""
    value = _decimal(raw)
    return None if value is None else int((value * 100).quantize(Decimal(1)))


def _major(minor: int) -> str:
    return f"{minor // 100}" if minor % 100 == 0 else f"{minor / 100:.2f}"


def _percent(bp: int) -> str:
    return f"{bp // 100}" if bp % 100 == 0 else f"{bp / 100:g}"


def form(program: Program | None) -> dict[str, str]:
    """The program's settings as the form shows them (empty/defaults for a new one)."""
    if program is None:
        return {
            **{name: "" for name in FIELDS},
            "timezone": "Europe/Moscow",
            "currency": "RUB",
            "default_locale": "ru",
            "earn_rate": "5",
            "redeem_share": "30",
            "point_value": "1",
            "registration_bonus": "0",
            "birthday_bonus": "0",
        }

    def days(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "slug": program.slug,
        "name": program.name,
        "brand_name": program.brand_name,
        "timezone": program.timezone,
        "currency": program.currency,
        "default_locale": program.default_locale,
        "earn_rate": _percent(program.earn_rate_bp),
        "redeem_share": _percent(program.max_redeem_share_bp),
        "point_value": _major(program.point_value_minor),
        "registration_bonus": str(program.registration_bonus),
        "registration_bonus_days": days(program.registration_bonus_days),
        "birthday_bonus": str(program.birthday_bonus),
        "birthday_bonus_days": days(program.birthday_bonus_days),
        "points_validity_days": days(program.points_validity_days),
    }


def tier_rows(program: Program | None) -> list[dict[str, str]]:
    if program is None:
        return [
            {"code": "base", "name_ru": "", "name_en": "", "discount": "5", "grant": "default"},
        ]
    return [
        {
            "code": tier.code,
            "name_ru": tier.name_ru,
            "name_en": tier.name_en,
            "discount": _percent(tier.discount_bp),
            "grant": "default"
            if tier.is_default
            else ("staff" if tier.staff_assigned else "spend"),
            "threshold": _major(tier.spend_threshold) if tier.spend_threshold else "",
        }
        for tier in program.tiers
    ]


def _clean_text(raw: str | None, limit: int) -> str | None:
    text = " ".join((raw or "").split())
    return text if 1 <= len(text) <= limit else None


def _settings(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, object]:
    errors.update(control_character_errors(dict(values)))
    clean: dict[str, object] = {}
    for name, limit in (("name", 100), ("brand_name", 100)):
        text = _clean_text(values.get(name), limit)
        if text is None:
            errors.setdefault(name, f"is required (1 to {limit} characters)")
        clean[name] = text
    zone = values.get("timezone", "").strip()
    if not is_timezone(zone):
        errors["timezone"] = "must be a time zone such as Europe/Moscow"
    clean["timezone"] = zone
    currency = values.get("currency", "").strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = f"must be one of {', '.join(CURRENCIES)}"
    clean["currency"] = currency
    locale = values.get("default_locale", "ru").strip() or "ru"
    if locale not in LOCALES:
        errors["default_locale"] = "must be ru or en"
    clean["default_locale"] = locale
    for field, column in (("earn_rate", "earn_rate_bp"), ("redeem_share", "max_redeem_share_bp")):
        bp = percent_bp(values.get(field))
        if bp is None:
            errors[field] = "must be a percentage from 0 to 100 (up to two decimals)"
        clean[column] = bp
    point_value = money_minor(values.get("point_value"))
    if point_value is None or not 0 < point_value <= MAX_POINT_VALUE:
        errors["point_value"] = "must be an amount above 0 (e.g. 1 or 0,50)"
    clean["point_value_minor"] = point_value
    for field in ("registration_bonus", "birthday_bonus"):
        points = whole_number(values.get(field, "0") or "0")
        if points is None or points > MAX_POINTS:
            errors[field] = f"must be a whole number of points from 0 to {MAX_POINTS}"
        clean[field] = points
    for field in ("registration_bonus_days", "birthday_bonus_days", "points_validity_days"):
        raw = (values.get(field) or "").strip()
        number = whole_number(raw) if raw else None
        if raw and (number is None or not 1 <= number <= MAX_DAYS):
            errors[field] = f"must be empty (never expire) or a number of days from 1 to {MAX_DAYS}"
        clean[field] = number
    return clean


def _tiers(rows: Sequence[Mapping[str, str]], errors: dict[str, str]) -> list[dict[str, object]]:
    """Each tier row checked; errors keyed ``tiers.N.field`` (N from 0) and ``tiers``."""
    filled = [
        (i, row)
        for i, row in enumerate(rows)
        if any((row.get(f) or "").strip() for f in TIER_FIELDS[:4])
    ]
    if not filled:
        errors["tiers"] = "a program needs at least one tier"
        return []
    if len(filled) > MAX_TIERS:
        errors["tiers"] = f"at most {MAX_TIERS} tiers"
    clean: list[dict[str, object]] = []
    codes: set[str] = set()
    for i, row in filled:
        key = f"tiers.{i}."
        errors.update({key + k: v for k, v in control_character_errors(dict(row)).items()})
        code = (row.get("code") or "").strip().lower()
        if not TIER_CODE.match(code):
            errors[key + "code"] = "1-40 lower-case letters, digits, - or _"
        elif code in codes:
            errors[key + "code"] = "is used by another tier"
        codes.add(code)
        name_ru = _clean_text(row.get("name_ru"), 60)
        if name_ru is None:
            errors.setdefault(key + "name_ru", "is required (1 to 60 characters)")
        raw_en = (row.get("name_en") or "").strip()
        name_en = _clean_text(raw_en, 60) if raw_en else name_ru
        if raw_en and name_en is None:
            errors.setdefault(key + "name_en", "must be 1 to 60 characters")
        discount = percent_bp(row.get("discount"))
        if discount is None:
            errors[key + "discount"] = "must be a percentage from 0 to 100"
        grant = (row.get("grant") or "").strip()
        if grant not in GRANTS:
            errors[key + "grant"] = f"must be one of {', '.join(GRANTS)}"
        raw_threshold = (row.get("threshold") or "").strip()
        threshold = money_minor(raw_threshold) if raw_threshold else None
        if grant == "spend" and (threshold is None or not 0 < threshold <= MAX_MONEY):
            errors[key + "threshold"] = "a tier granted by spending needs the amount (above 0)"
        elif grant != "spend" and raw_threshold:
            errors[key + "threshold"] = "only a tier granted by spending has an amount"
        clean.append(
            {
                "code": code,
                "name_ru": name_ru,
                "name_en": name_en,
                "discount_bp": discount,
                "is_default": grant == "default",
                "staff_assigned": grant == "staff",
                "spend_threshold": threshold if grant == "spend" else None,
            }
        )
    defaults = sum(1 for tier in clean if tier["is_default"])
    if defaults != 1:
        errors.setdefault("tiers", "exactly one tier is the one every new card gets (default)")
    return clean


def create_program(
    session: Session,
    clock: Clock,
    values: Mapping[str, str],
    tiers: Sequence[Mapping[str, str]],
    actor: StaffUser | str,
) -> Program:
    errors: dict[str, str] = {}
    slug = values.get("slug", "").strip().lower()
    if not SLUG.match(slug):
        errors["slug"] = "2-40 lower-case letters, digits or -, for addresses (/join/<slug>)"
    elif session.scalar(select(Program.id).where(Program.slug == slug)) is not None:
        errors["slug"] = "is already used by another program"
    clean = _settings(values, errors)
    clean_tiers = _tiers(tiers, errors)
    if errors:
        raise ValidationError(errors)
    program = Program(
        slug=slug,
        template=TEMPLATE,
        phone_region="RU",
        created_at=clock.now(),
        **COLORS,
        **clean,
    )
    program.tiers = [Tier(**tier) for tier in clean_tiers]
    session.add(program)
    session.flush()
    audit(
        session,
        clock,
        actor,
        "program.created",
        slug,
        {**_printable(clean), "tiers": [_printable(t) for t in clean_tiers]},
    )
    return program


def update_program(
    session: Session,
    clock: Clock,
    program: Program,
    values: Mapping[str, str],
    tiers: Sequence[Mapping[str, str]],
    actor: StaffUser | str,
) -> bool:
    """Apply the form to ``program``; True when something changed. The slug stays (links
    and posters carry it)."""
    if program.archived_at is not None:
        raise ProgramArchivedError(program.slug)
    errors: dict[str, str] = {}
    clean = _settings(values, errors)
    clean_tiers = _tiers(tiers, errors)
    existing = {tier.code: tier for tier in program.tiers}
    removed = [code for code in existing if code not in {t["code"] for t in clean_tiers}]
    if removed and not errors:
        held = session.execute(
            select(Tier.code, func.count(Card.id))
            .join(Card, Card.tier_id == Tier.id)
            .where(Tier.program_id == program.id, Tier.code.in_(removed))
            .group_by(Tier.code)
        ).all()
        if held:
            listed = ", ".join(f"{code} ({count})" for code, count in held)
            errors["tiers"] = f"{HELD_TIERS} {listed}"
    if errors:
        raise ValidationError(errors)
    changed: dict[str, object] = {
        name: value for name, value in clean.items() if getattr(program, name) != value
    }
    tier_changes: dict[str, object] = {}
    for row in clean_tiers:
        tier = existing.get(str(row["code"]))
        if tier is None:
            program.tiers.append(Tier(**row))
            tier_changes[str(row["code"])] = "added"
            continue
        diff = {k: v for k, v in row.items() if getattr(tier, k) != v}
        for name, value in diff.items():
            setattr(tier, name, value)
        if diff:
            tier_changes[tier.code] = _printable(diff)
    for code in removed:
        session.delete(existing[code])
        tier_changes[code] = "removed"
    for name, value in changed.items():
        setattr(program, name, value)
    if not changed and not tier_changes:
        return False
    session.flush()
    session.expire(program, ["tiers"])
    if tier_changes or any(name in SHOWN for name in changed):
        mark_program_changed(session, clock, program.id)
    details = _printable(changed)
    if tier_changes:
        details["tiers"] = tier_changes
    audit(session, clock, actor, "program.updated", program.slug, details)
    return True


def set_archived(
    session: Session, clock: Clock, program: Program, archived: bool, actor: StaffUser | str
) -> bool:
    """Archive (enrollment closes, the console shows the program read-only) or restore."""
    if archived == (program.archived_at is not None):
        return False
    program.archived_at = clock.now() if archived else None
    session.flush()
    audit(
        session, clock, actor, "program.archived" if archived else "program.restored", program.slug
    )
    return True


def list_programs(session: Session) -> list[Program]:
    return list(session.scalars(select(Program).order_by(Program.slug)))


def _printable(values: Mapping[str, object]) -> dict[str, object]:
    return dict(values)


def find_program(session: Session, slug: str) -> Program | None:
    return session.scalar(select(Program).where(Program.slug == slug))
