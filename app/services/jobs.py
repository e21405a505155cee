"""Daily jobs: birthday bonuses and expiry of point lots.

Each card is handled in its own small transaction by the caller (see
``app.cli.jobs``), so a long run never holds locks for long and a crash loses
nothing: both jobs are idempotent (birthday keys per year, expiry by date).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty import ledger
from app.loyalty.models import Card, LedgerEntry, Member, Program
from app.passes.sync import mark_card_changed
from app.services import webhook_events


def local_today(program: Program, now: datetime) -> date:
    return now.astimezone(ZoneInfo(program.timezone)).date()


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_cards(session: Session, program: Program, today: date) -> list[int]:
    """Active cards whose member has a birthday today in the program's time zone
    (29 February birthdays are celebrated on the 28th in other years)."""
    days = [today.day]
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        days.append(29)
    return list(
        session.scalars(
            select(Card.id)
            .join(Member, Member.id == Card.member_id)
            .where(
                Card.program_id == program.id,
                Card.status == "active",
                extract("month", Member.birthday) == today.month,
                extract("day", Member.birthday).in_(days),
            )
            .order_by(Card.id)
        )
    )


def award_birthday(session: Session, clock: Clock, card_id: int, year: int) -> bool:
    """The program's birthday bonus for ``year``, at most once; True if awarded."""
    card = session.get(Card, card_id)
    if card is None or card.program.birthday_bonus <= 0:
        return False
    entry = ledger.award(
        session,
        card_id,
        points=card.program.birthday_bonus,
        kind="bonus",
        now=clock.now(),
        valid_days=card.program.birthday_bonus_days,
        reference=f"birthday:{year}",
        idempotency_key=f"birthday:{card_id}:{year}",
    )
    if entry is None:
        return False
    mark_card_changed(session, clock, card_id)
    return True


def cards_with_due_lots(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(LedgerEntry.card_id)
            .where(LedgerEntry.remaining > 0, LedgerEntry.expires_at <= now)
            .distinct()
            .order_by(LedgerEntry.card_id)
        )
    )


def expire_card(session: Session, clock: Clock, card_id: int) -> int:
    card = ledger.lock_card(session, card_id)
    expired = ledger.expire_due(session, card, clock.now())
    if expired:
        mark_card_changed(session, clock, card_id)
    session.flush()
    if expired:
        webhook_events.emit(
            session,
            clock,
            card.program,
            "points.expired",
            {**webhook_events.card_fields(card), "points": expired, "balance": card.balance},
        )
    return expired


def all_programs(session: Session) -> list[Program]:
    return list(session.scalars(select(Program).order_by(Program.id)))
