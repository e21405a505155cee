"""Cards per wallet app kept as counts (app.analytics.models: WalletPassApp,
WalletMember, WalletCount, WalletEventDay), so the dashboard reads a few rows instead
of every registration, Google object and event of the program.

Writers call, in the transaction that changes the rows:

- ``place(session, [(pass_id, wallet_app, +1 or -1), ...])`` when a registration (a
  device of that app) or a saved Google object of the pass comes or goes: registering,
  unregistering, a device changing app, Google save and delete callbacks;
  ``unregistered(session, registration_ids)`` before deleting registrations (push
  channels pruning, erased members' devices released);
- ``count_events(session, [(pass_id, wallet_app, kind, at), ...])`` with every
  wallet_app_events row (app.services.wallet_events does it).

Writers record events before they place; a placement locks pass rows, then member
rows, then counters, each in key order, so two transactions never wait on each other's
rows in a cycle. The per-pass and per-member rows take the row lock of what they
change: of two phones leaving at once, one sees the other's removal. ``rebuild``
recomputes everything of a program from the tables, for rows written around these
calls (imports, the chain simulator).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from app.analytics import rollups
from app.analytics.models import (
    ANY_APP,
    SLOTS,
    WalletCount,
    WalletEventDay,
    WalletMember,
    WalletPassApp,
)
from app.db import planner, upsert
from app.loyalty.models import Card, Program
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject, WalletPass
from app.push.models import WalletAppEvent

GOOGLE_WALLET = "google_wallet"  # app.services.wallet_events.GOOGLE_WALLET
Place = tuple[int, str, int]  # (pass id, wallet app, +1 or -1)
Event = tuple[int | None, str, str, datetime]  # (pass id, wallet app, kind, at)


def _insert(session: Session, model: Any, values: Any) -> Any:
    return upsert(session, model).values(values)


def _add(session: Session, model: Any, rows: dict[tuple[Any, ...], int], column: str) -> None:
    """Add n to the column of each row (key values in primary key order -> n), creating
    the missing rows: one statement, the rows in key order."""
    keys = [c.name for c in model.__table__.primary_key.columns]
    values = [{**dict(zip(keys, k, strict=True)), column: n} for k, n in sorted(rows.items()) if n]
    if not values:
        return
    stmt = _insert(session, model, values)
    more = {column: getattr(model, column) + getattr(stmt.excluded, column)}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=more))


def _bump(
    session: Session, model: Any, key: dict[str, Any], column: str, n: int, **rest: Any
) -> int | None:
    """Add n to the row's column and return the new value (the row locked until the end
    of the transaction); a new row takes ``rest`` too. A removal from a missing row
    changes nothing and returns None; a row that reaches 0 is deleted."""
    value = getattr(model, column)
    if n > 0:
        stmt = _insert(session, model, {**key, **rest, column: n})
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={column: value + stmt.excluded[column]}
        ).returning(value)
        now = session.scalar(stmt)
    else:
        where = [getattr(model, k) == v for k, v in key.items()]
        now = session.scalar(
            update(model)
            .where(*where)
            .values({column: value + n})
            .returning(value)
            .execution_options(synchronize_session=False)
        )
        if now is not None and now <= 0:
            session.execute(
                delete(model).where(*where).execution_options(synchronize_session=False)
            )
    return None if now is None else int(now)


def _owners(session: Session, pass_ids: Iterable[int | None]) -> dict[int, tuple[int, int, str]]:
    """Pass id -> (program id, member id, program time zone); remembered for the
    transaction (a pass never changes card, nor a card program or member), so counting
    an event and then its registration reads them once."""
    transaction = session.get_transaction()
    if session.info.get("wallet_owners_of") is not transaction:
        session.info["wallet_owners_of"], session.info["wallet_owners"] = transaction, {}
    known: dict[int, tuple[int, int, str]] = session.info["wallet_owners"]
    ids = sorted({p for p in pass_ids if p is not None})
    missing = [p for p in ids if p not in known]
    if missing:
        rows = session.execute(
            select(WalletPass.id, Card.program_id, Card.member_id, Program.timezone)
            .join(Card, Card.id == WalletPass.card_id)
            .join(Program, Program.id == Card.program_id)
            .where(WalletPass.id.in_(missing))
        )
        known.update((p, (program, member, zone)) for p, program, member, zone in rows)
    return {p: known[p] for p in ids if p in known}


def place(session: Session, changes: Iterable[Place]) -> None:
    """Registrations or Google saves of passes added (+1) or removed (-1) per app."""
    merged: Counter[tuple[int, str]] = Counter()
    for pass_id, app, n in changes:
        merged[(pass_id, app)] += n
    owners = _owners(session, (p for p, _ in merged))
    cards: Counter[tuple[Any, ...]] = Counter()
    members: Counter[tuple[int, int]] = Counter()
    for (pass_id, app), n in sorted(merged.items()):
        if not n or pass_id not in owners:
            continue
        places = _bump(session, WalletPassApp, {"pass_id": pass_id, "wallet_app": app}, "places", n)
        if places is None:
            continue
        was, now = places - n > 0, places > 0
        if was != now:
            program_id, member_id, _zone = owners[pass_id]
            cards[(program_id, app, pass_id % SLOTS)] += 1 if now else -1
            members[(program_id, member_id)] += 1 if now else -1
    for (program_id, member_id), n in sorted(members.items()):
        if not n:
            continue
        key = {"member_id": member_id}
        places = _bump(session, WalletMember, key, "places", n, program_id=program_id)
        if places is None:
            continue
        was, now = places - n > 0, places > 0
        if was != now:
            cards[(program_id, ANY_APP, member_id % SLOTS)] += 1 if now else -1
    _add(session, WalletCount, cards, "cards")


def unregistered(session: Session, registration_ids: Iterable[int]) -> None:
    """Registrations about to be deleted (call before the DELETE)."""
    ids = sorted(set(registration_ids))
    if not ids:
        return
    rows = session.execute(
        select(AppleRegistration.pass_id, AppleDevice.wallet_app)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleRegistration.id.in_(ids))
    )
    place(session, [(pass_id, app, -1) for pass_id, app in rows])


def count_events(session: Session, events: Sequence[Event]) -> None:
    """wallet_app_events rows just written, per program, local day, app and kind."""
    owners = _owners(session, (e[0] for e in events))
    days: Counter[tuple[int, int, str, str, int]] = Counter()
    for pass_id, app, kind, at in events:
        if pass_id is None or pass_id not in owners:
            continue  # no pass: no program counts it (wallet_stats.event_counts neither)
        program_id, _member, zone = owners[pass_id]
        day = at.astimezone(ZoneInfo(zone)).date().toordinal()
        days[(program_id, day, app, kind, pass_id % SLOTS)] += 1
    _add(session, WalletEventDay, days, "events")


def active(session: Session, program_id: int | None) -> dict[str, int]:
    """Wallet app -> the program's passes in it now (all programs for None)."""
    stmt = (
        select(WalletCount.wallet_app, func.sum(WalletCount.cards))
        .where(WalletCount.wallet_app != ANY_APP)
        .group_by(WalletCount.wallet_app)
    )
    if program_id is not None:
        stmt = stmt.where(WalletCount.program_id == program_id)
    out = {app: int(n) for app, n in session.execute(stmt) if n}
    out.setdefault(GOOGLE_WALLET, 0)
    return out


def installed(session: Session, program_id: int) -> int:
    """The program's members with a card in at least one wallet now."""
    return int(
        session.scalar(
            select(func.sum(WalletCount.cards)).where(
                WalletCount.program_id == program_id, WalletCount.wallet_app == ANY_APP
            )
        )
        or 0
    )


def event_days(
    session: Session, program_id: int, windows: Sequence[tuple[int, int]]
) -> dict[tuple[str, str], list[int]]:
    """(wallet app, kind) -> events in each window of local days [first, end)."""
    low, high = min(w[0] for w in windows), max(w[1] for w in windows)
    d = WalletEventDay.day
    columns = [
        func.coalesce(func.sum(WalletEventDay.events).filter(d >= first, d < end), 0)
        for first, end in windows
    ]
    stmt = (
        select(WalletEventDay.wallet_app, WalletEventDay.kind, *columns)
        .where(WalletEventDay.program_id == program_id, d >= low, d < high)
        .group_by(WalletEventDay.wallet_app, WalletEventDay.kind)
    )
    return {(app, kind): [int(n) for n in counts] for app, kind, *counts in session.execute(stmt)}


def rebuild(session: Session, program: Program) -> str:
    """The program's counts recomputed from the registrations, Google objects and
    events (in SQL); returns what was written, for the operator."""
    pid = program.id
    mine = (
        select(WalletPass.id)
        .join(Card, Card.id == WalletPass.card_id)
        .where(Card.program_id == pid)
    )
    for stmt in (
        delete(WalletPassApp).where(WalletPassApp.pass_id.in_(mine)),
        delete(WalletMember).where(WalletMember.program_id == pid),
        delete(WalletCount).where(WalletCount.program_id == pid),
        delete(WalletEventDay).where(WalletEventDay.program_id == pid),
    ):
        session.execute(stmt.execution_options(synchronize_session=False))
    registered = (
        select(AppleRegistration.pass_id, AppleDevice.wallet_app, func.count())
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleRegistration.pass_id.in_(mine))
        .group_by(AppleRegistration.pass_id, AppleDevice.wallet_app)
    )
    saved = select(GoogleObject.pass_id, literal(GOOGLE_WALLET), literal(1)).where(
        GoogleObject.pass_id.in_(mine),
        GoogleObject.saved_at.is_not(None),
        GoogleObject.removed_at.is_(None),
    )
    session.execute(
        insert(WalletPassApp).from_select(
            ["pass_id", "wallet_app", "places"], union_all(registered, saved)
        )
    )
    present = (
        select(WalletPassApp.pass_id, WalletPassApp.wallet_app, Card.member_id)
        .join(WalletPass, WalletPass.id == WalletPassApp.pass_id)
        .join(Card, Card.id == WalletPass.card_id)
        .where(Card.program_id == pid)
        .subquery()
    )
    members = select(present.c.member_id, literal(pid), func.count()).group_by(present.c.member_id)
    session.execute(
        insert(WalletMember).from_select(["member_id", "program_id", "places"], members)
    )
    slot = present.c.pass_id % SLOTS
    per_app = select(literal(pid), present.c.wallet_app, slot, func.count()).group_by(
        present.c.wallet_app, slot
    )
    member_slot = WalletMember.member_id % SLOTS
    per_member = (
        select(literal(pid), literal(ANY_APP), member_slot, func.count())
        .where(WalletMember.program_id == pid)
        .group_by(member_slot)
    )
    cols = ["program_id", "wallet_app", "slot", "cards"]
    session.execute(insert(WalletCount).from_select(cols, union_all(per_app, per_member)))
    events = _rebuild_events(session, program, mine)
    members_n = session.scalar(
        select(func.count()).select_from(WalletMember).where(WalletMember.program_id == pid)
    )
    return f"{members_n} members in a wallet, {events} wallet event day rows"


def _rebuild_events(session: Session, program: Program, mine: Any) -> int:
    lo, hi = session.execute(
        select(func.min(WalletAppEvent.at), func.max(WalletAppEvent.at)).where(
            WalletAppEvent.pass_id.in_(mine)
        )
    ).one()
    if lo is None:
        return 0
    day = rollups.local_day(program, WalletAppEvent.at.expression, lo, hi)
    slot = WalletAppEvent.pass_id % SLOTS
    per_day = (
        select(literal(program.id), day, WalletAppEvent.wallet_app, WalletAppEvent.kind, slot)
        .add_columns(func.count())
        .where(WalletAppEvent.pass_id.in_(mine))
        .group_by(day, WalletAppEvent.wallet_app, WalletAppEvent.kind, slot)
    )
    cols = ["program_id", "day", "wallet_app", "kind", "slot", "events"]
    # JIT compiling the nested CASEs of local days costs more than running them
    # (2.1 s against 0.7 s at 200 000 passes).
    with planner(session, jit="off"):
        session.execute(insert(WalletEventDay).from_select(cols, per_day))
    return int(
        session.scalar(
            select(func.count())
            .select_from(WalletEventDay)
            .where(WalletEventDay.program_id == program.id)
        )
        or 0
    )
