"""Cards per wallet app: installs and removals from the event history, active cards from
the registrations and Google objects as they are now, and the segment filter on them.

The dashboard's figures read the counts kept beside those tables (services.wallet_counts:
a few rows per program instead of every registration); ``scan_active``,
``scan_event_counts`` and ``scan_installed`` count the tables themselves, for windows
that are not whole local days, the worker's daily line and the tests.

These read both the pass tables and the event table, so they live here rather than in
app.analytics or app.campaigns (which must not import app.passes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.analytics.rollups import day_of, midnight
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject, WalletPass
from app.push.models import WalletAppEvent
from app.push.wallet_apps import APPLE_WALLET
from app.services import wallet_counts
from app.services.wallet_events import EVENT_APPS, GOOGLE_WALLET, INSTALL, REMOVAL

Window = tuple[datetime, datetime]  # [start, end)
# How tables list the apps: Apple Wallet, Google Wallet, then the Android .pkpass apps.
APP_ORDER = (
    APPLE_WALLET,
    GOOGLE_WALLET,
    *(a for a in EVENT_APPS if a not in (APPLE_WALLET, GOOGLE_WALLET)),
)


@dataclass(frozen=True)
class AppFigures:
    wallet_app: str
    installs: int
    removals: int
    active: int  # cards in the app now


def event_counts(
    session: Session, program_id: int | None, windows: Sequence[Window]
) -> dict[tuple[str, str], list[int]]:
    """(wallet app, kind) -> events in each window: from the per-day counts when every
    bound is a local midnight of the program, else from the events."""
    if not windows:
        return {}
    program = session.get(Program, program_id) if program_id is not None else None
    if program is not None:
        days = [(day_of(program, a), day_of(program, b)) for a, b in windows]
        if all(
            midnight(program, first) == a and midnight(program, end) == b
            for (first, end), (a, b) in zip(days, windows, strict=True)
        ):
            return wallet_counts.event_days(session, program.id, days)
    return scan_event_counts(session, program_id, windows)


def scan_event_counts(
    session: Session, program_id: int | None, windows: Sequence[Window]
) -> dict[tuple[str, str], list[int]]:
    """event_counts from the events themselves, in one read."""
    if not windows:
        return {}
    low, high = min(w[0] for w in windows), max(w[1] for w in windows)
    columns = [
        func.count(WalletAppEvent.id).filter(WalletAppEvent.at >= start, WalletAppEvent.at < end)
        for start, end in windows
    ]
    stmt = (
        select(WalletAppEvent.wallet_app, WalletAppEvent.kind, *columns)
        .where(WalletAppEvent.at >= low, WalletAppEvent.at < high)
        .group_by(WalletAppEvent.wallet_app, WalletAppEvent.kind)
    )
    if program_id is not None:
        stmt = stmt.join(WalletPass, WalletPass.id == WalletAppEvent.pass_id).join(
            Card, Card.id == WalletPass.card_id
        )
        stmt = stmt.where(Card.program_id == program_id)
    return {(app, kind): [int(n) for n in counts] for app, kind, *counts in session.execute(stmt)}


def active_cards(session: Session, program_id: int | None = None) -> dict[str, int]:
    """Wallet app -> cards registered in it now (a card on two phones counts once per app;
    strictly its passes: a replaced card whose old pass is still on a phone counts twice)."""
    return wallet_counts.active(session, program_id)


def scan_active(session: Session, program_id: int | None = None) -> dict[str, int]:
    """active_cards from the registrations and Google objects themselves."""
    pkpass = (
        select(AppleDevice.wallet_app, func.count(func.distinct(AppleRegistration.pass_id)))
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .group_by(AppleDevice.wallet_app)
    )
    google = select(func.count(GoogleObject.id)).where(
        GoogleObject.saved_at.is_not(None), GoogleObject.removed_at.is_(None)
    )
    if program_id is not None:
        pkpass = (
            pkpass.join(WalletPass, WalletPass.id == AppleRegistration.pass_id)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.program_id == program_id)
        )
        google = (
            google.join(WalletPass, WalletPass.id == GoogleObject.pass_id)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.program_id == program_id)
        )
    out = {app: int(n) for app, n in session.execute(pkpass)}
    out[GOOGLE_WALLET] = int(session.scalar(google) or 0)
    return out


def figures(session: Session, program_id: int | None, period: Window) -> list[AppFigures]:
    """Installs and removals in the period and active cards now, per app (in the order of
    EVENT_APPS, Google Wallet second), leaving out apps with nothing to show."""
    counts = event_counts(session, program_id, [period])
    return app_rows(counts, active_cards(session, program_id))


def app_rows(counts: dict[tuple[str, str], list[int]], active: dict[str, int]) -> list[AppFigures]:
    rows = [
        AppFigures(
            app,
            counts.get((app, INSTALL), [0])[0],
            counts.get((app, REMOVAL), [0])[0],
            active.get(app, 0),
        )
        for app in APP_ORDER
    ]
    return [r for r in rows if r.installs or r.removals or r.active]


def card_in_wallet(value: str) -> ColumnElement[bool]:
    """The segment condition ``wallet == value`` on Card.id (where the card is now)."""
    registered = (
        select(AppleRegistration.id)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .join(WalletPass, WalletPass.id == AppleRegistration.pass_id)
        .where(WalletPass.card_id == Card.id)
    )
    google = (
        select(GoogleObject.id)
        .join(WalletPass, WalletPass.id == GoogleObject.pass_id)
        .where(
            WalletPass.card_id == Card.id,
            GoogleObject.saved_at.is_not(None),
            GoogleObject.removed_at.is_(None),
        )
        .exists()
    )
    if value == "google":
        return google
    if value == "any":
        return registered.exists() | google
    if value == "none":
        return ~registered.exists() & ~google
    if value == "android_pkpass":
        return registered.where(AppleDevice.wallet_app != APPLE_WALLET).exists()
    app = APPLE_WALLET if value == "apple" else value
    return registered.where(AppleDevice.wallet_app == app).exists()


def today(session: Session, now: datetime) -> list[AppFigures]:
    """All programs: installs and removals since midnight UTC, active cards now, from the
    tables themselves (the operator's line, exact even after rows written around the
    services, before a rebuild)."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = scan_event_counts(session, None, [(start, now + timedelta(seconds=1))])
    return app_rows(counts, scan_active(session))


@dataclass(frozen=True)
class Adoption:
    members: int  # all members of the program
    installed: int  # members whose card is in at least one wallet now
    share: float | None  # installed / members
    by_app: dict[str, tuple[int, float | None]]  # wallet app -> (cards in it, share of members)


def adoption(session: Session, program_id: int) -> Adoption:
    """Card adoption now: members with their card in a wallet, in all and per wallet app
    (a card in two apps counts in each, once in all)."""
    members = int(
        session.scalar(select(func.count(Member.id)).where(Member.program_id == program_id)) or 0
    )
    installed = wallet_counts.installed(session, program_id)
    active = active_cards(session, program_id)

    def share(n: int) -> float | None:
        return n / members if members else None

    by_app = {app: (active[app], share(active[app])) for app in APP_ORDER if active.get(app)}
    return Adoption(members, installed, share(installed), by_app)


def scan_installed(session: Session, program_id: int) -> int:
    """Adoption's ``installed`` from the registrations and Google objects themselves."""
    # The cards in some wallet as one set (not card_in_wallet's EXISTS per card: its
    # estimate made PostgreSQL compile the plan, ~0.4 s of ~0.7 s at 100 k cards).
    registered = (
        select(WalletPass.card_id)
        .join(AppleRegistration, AppleRegistration.pass_id == WalletPass.id)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
    )
    saved = (
        select(WalletPass.card_id)
        .join(GoogleObject, GoogleObject.pass_id == WalletPass.id)
        .where(GoogleObject.saved_at.is_not(None), GoogleObject.removed_at.is_(None))
    )
    return int(
        session.scalar(
            select(func.count(func.distinct(Card.member_id))).where(
                Card.program_id == program_id, Card.id.in_(registered.union(saved))
            )
        )
        or 0
    )
