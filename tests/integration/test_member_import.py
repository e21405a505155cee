"""CSV import of an existing customer base (dry run first), and export."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, LedgerEntry, Member, Program
from app.services import imports
from app.staff.models import AuditEntry

GOOD = (
    "phone;name;birthday;email;balance;marketing_consent\n"
    "+7 900 111-22-33;Анна;1990-05-02;anna@example.com;1500;да\n"
    "89001112234;Boris;;;0;no\n"
).encode()


def members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Member)) or 0


def test_a_dry_run_creates_nothing_and_apply_creates_cards_with_balances(
    session: Session, services: Services, demo: Program
) -> None:
    dry = imports.import_members(
        session, services.clock, demo, "\ufeff".encode() + GOOD, apply=False, actor="cli"
    )
    assert (dry.rows, dry.ok, dry.errors, dry.created) == (2, 2, [], 0)
    assert members(session) == 0
    done = imports.import_members(session, services.clock, demo, GOOD, apply=True, actor="cli")
    session.commit()
    assert (done.created, done.points) == (2, 1500)
    anna = session.scalars(select(Member).where(Member.phone == "+79001112233")).one()
    assert anna.marketing_consent and anna.birthday is not None
    card = session.scalars(select(Card).where(Card.member_id == anna.id)).one()
    assert card.balance == 1500
    assert session.scalars(select(LedgerEntry.reference)).all() == ["import"]
    assert "members.imported" in session.scalars(select(AuditEntry.action)).all()


def test_every_problem_is_reported_by_line_and_nothing_is_created(
    session: Session, services: Services, demo: Program
) -> None:
    imports.import_members(session, services.clock, demo, GOOD, apply=True, actor="cli")
    session.commit()
    bad = (
        b"phone,name,birthday,balance\n"
        b"12,Short phone,,\n"
        b"+79005556677,,,\n"
        b"+79005556678,Ok,2090-01-01,\n"
        b"+79005556679,Ok,,lots\n"
        b"+79005556680,Twice,,\n"
        b"8 900 555-66-80,Twice again,,\n"
        b"+79001112233,Already here,,\n"
        b"+79005556681,Fine,,10\n"
    )
    report = imports.import_members(session, services.clock, demo, bad, apply=True, actor="cli")
    assert report.created == 0 and report.ok == 2
    assert [(line, field) for line, field, _ in report.errors] == [
        (2, "phone"),
        (3, "name"),
        (4, "birthday"),
        (5, "balance"),
        (7, "phone"),
        (8, "phone"),
    ]
    assert members(session) == 2


def test_a_file_without_the_required_columns_is_refused(
    session: Session, services: Services, demo: Program
) -> None:
    with pytest.raises(ValidationError) as error:
        imports.import_members(
            session, services.clock, demo, b"tel,fio\n1,2\n", apply=False, actor="cli"
        )
    assert "phone" in error.value.fields["file"] and "name" in error.value.fields["file"]


def test_export_lists_every_member_with_the_card(
    session: Session, services: Services, demo: Program
) -> None:
    imports.import_members(session, services.clock, demo, GOOD, apply=True, actor="cli")
    session.commit()
    rows = list(csv.DictReader(io.StringIO("".join(imports.export_members(session, demo)))))
    assert [r["phone"] for r in rows] == ["+79001112233", "+79001112234"]
    assert (
        rows[0]["balance"] == "1500"
        and rows[0]["tier"] == "base"
        and len(rows[0]["card_number"]) == 13
    )
