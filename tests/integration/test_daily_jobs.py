"""Birthday bonuses once a year in the program's time zone; expiry of due lots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty import ledger
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.models import WalletPass
from app.services import enrollment
from app.worker.handlers import run_daily
from tests.helpers import fixed_clock


def member(
    session: Session, services: Services, program: Program, phone: str, birthday: str | None
) -> Card:
    form = enrollment.EnrollmentForm(name="B", phone=phone, birthday=birthday, consent=True)
    card = enrollment.enroll(
        session, services.clock, program, enrollment.validate(form, program, date(2026, 1, 1))
    )
    session.commit()
    return card


def version(session: Session, card: Card) -> int:
    return session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id)) or 0


def bonuses(session: Session, card: Card) -> list[str | None]:
    return list(
        session.scalars(
            select(LedgerEntry.reference).where(
                LedgerEntry.card_id == card.id, LedgerEntry.kind == "bonus"
            )
        )
    )


def test_birthday_bonus_once_a_year_on_the_local_date(
    session: Session, services: Services, demo: Program
) -> None:
    today = member(session, services, demo, "+79002220001", "1990-06-15")
    other = member(session, services, demo, "+79002220002", "1990-06-16")
    before = version(session, today)
    # 22:30 UTC on 14 June is already 15 June in Moscow (UTC+3).
    fixed_clock(services).set(datetime(2026, 6, 14, 22, 30, tzinfo=UTC))
    assert run_daily(services)[0] == 1
    assert run_daily(services)[0] == 0  # the same day again pays nothing
    session.expire_all()
    assert bonuses(session, today) == ["birthday:2026"]
    assert bonuses(session, other) == []
    assert session.get(Card, today.id).balance == 5000  # type: ignore[union-attr]
    assert version(session, today) == before + 1  # the phone gets the new balance
    fixed_clock(services).set(datetime(2027, 6, 15, 9, 0, tzinfo=UTC))
    assert run_daily(services)[0] == 1
    session.expire_all()
    assert bonuses(session, today) == ["birthday:2026", "birthday:2027"]


def test_leap_day_birthdays_are_celebrated_on_28_february(
    session: Session, services: Services, demo: Program
) -> None:
    leap = member(session, services, demo, "+79002220003", "2000-02-29")
    fixed_clock(services).set(datetime(2027, 2, 28, 9, 0, tzinfo=UTC))
    assert run_daily(services)[0] == 1
    fixed_clock(services).set(datetime(2028, 2, 28, 9, 0, tzinfo=UTC))
    assert run_daily(services)[0] == 0  # 2028 has its own 29 February
    fixed_clock(services).set(datetime(2028, 2, 29, 9, 0, tzinfo=UTC))
    assert run_daily(services)[0] == 1
    session.expire_all()
    assert bonuses(session, leap) == ["birthday:2027", "birthday:2028"]


def test_expiry_job_expires_due_lots_and_updates_the_pass(
    session: Session, services: Services, demo: Program
) -> None:
    card = member(session, services, demo, "+79002220004", None)
    start = services.clock.now()
    ledger.credit(session, card, points=300, kind="bonus", now=start, valid_days=30, reference="a")
    ledger.credit(session, card, points=50, kind="earn", now=start, valid_days=365, reference="b")
    session.commit()
    before = version(session, card)
    fixed_clock(services).set(start + timedelta(days=29))
    assert run_daily(services)[1:] == (0, 0)
    fixed_clock(services).set(start + timedelta(days=30))
    assert run_daily(services)[1:] == (1, 300)
    assert run_daily(services)[1:] == (0, 0)
    session.expire_all()
    assert session.get(Card, card.id).balance == 50  # type: ignore[union-attr]
    assert version(session, card) == before + 1
    # The daily run leaves SQLite statistics for its query planner (dashboard reads).
    analysed = set(session.scalars(text("SELECT tbl FROM sqlite_stat1")))
    assert {"cards", "members"} <= analysed
