"""Moving a customer base in and out: CSV import with a dry run, and CSV export.

Import columns (header row, comma or semicolon, UTF-8 with or without BOM):
``phone`` and ``name`` required; ``birthday`` (YYYY-MM-DD), ``email``, ``locale``
(ru/en), ``balance`` (points carried over), ``marketing_consent`` (yes/no) optional.
A dry run reports every problem by line and creates nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bounds import SafeCsvWriter
from app.clock import Clock
from app.loyalty import ledger
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program
from app.services import enrollment
from app.services.staff import audit
from app.staff.models import StaffUser

MAX_ROWS = 200_000
COLUMNS = ("phone", "name", "birthday", "email", "locale", "balance", "marketing_consent")
YES = {"1", "yes", "y", "true", "да", "д"}


@dataclass
class ImportReport:
    rows: int = 0
    ok: int = 0
    created: int = 0
    points: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, problem)
    # The valid rows with a marketing consent (who an install invite may reach), and
    # once applied, the members created from them.
    consenting: list[enrollment.Enrollment] = field(default_factory=list)
    consenting_members: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _rows(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    text = data.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    missing = {"phone", "name"} - {h.strip().lower() for h in reader.fieldnames or []}
    if missing:
        raise ValidationError({"file": f"the header lacks column(s): {', '.join(sorted(missing))}"})
    for number, row in enumerate(reader, start=2):
        yield number, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}


def import_members(
    session: Session,
    clock: Clock,
    program: Program,
    data: bytes,
    *,
    apply: bool,
    actor: StaffUser | str,
) -> ImportReport:
    report = ImportReport()
    seen: dict[str, int] = {}
    today = clock.now().date()
    valid: list[tuple[enrollment.Enrollment, int]] = []
    existing = set(session.scalars(select(Member.phone).where(Member.program_id == program.id)))
    for line, row in _rows(data):
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise ValidationError({"file": f"at most {MAX_ROWS} rows per import"})
        form = enrollment.EnrollmentForm(
            name=row.get("name"),
            phone=row.get("phone"),
            birthday=row.get("birthday") or None,
            email=row.get("email") or None,
            locale=row.get("locale") or None,
            consent=True,
            marketing_consent=row.get("marketing_consent", "").lower() in YES,
        )
        try:
            data_ = enrollment.validate(form, program, today)
        except ValidationError as exc:
            report.errors += [(line, f, p) for f, p in exc.fields.items()]
            continue
        balance_text = row.get("balance") or "0"
        if not balance_text.isdigit():
            report.errors.append((line, "balance", "must be a whole number of points >= 0"))
            continue
        if data_.phone in seen:
            report.errors.append((line, "phone", f"repeats line {seen[data_.phone]}"))
            continue
        if data_.phone in existing:
            report.errors.append((line, "phone", "already has a card in the program"))
            continue
        seen[data_.phone] = line
        valid.append((data_, int(balance_text)))
    report.ok = len(valid)
    report.consenting = [data_ for data_, _ in valid if data_.marketing_consent]
    if not apply or report.errors:
        return report
    now = clock.now()
    for data_, balance in valid:
        card = enrollment.enroll(session, clock, program, data_, source="import")
        if data_.marketing_consent:
            report.consenting_members.append(card.member_id)
        if balance:
            ledger.credit(
                session,
                card,
                points=balance,
                kind="adjust",
                now=now,
                valid_days=program.points_validity_days,
                reference="import",
            )
            report.points += balance
        report.created += 1
    audit(
        session,
        clock,
        actor,
        "members.imported",
        program.slug,
        {"created": report.created, "points": report.points},
    )
    return report


def export_members(session: Session, program: Program) -> Iterator[str]:
    """CSV lines of every member with the card (for a CRM or a move elsewhere); erased
    members are left out."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(
        [
            "phone",
            "name",
            "birthday",
            "email",
            "locale",
            "marketing_consent",
            "card_number",
            "tier",
            "balance",
            "stage",
            "enrolled_at",
        ]
    )
    yield out.getvalue()
    rows = session.execute(
        select(Member, Card)
        .join(Card, Card.member_id == Member.id)
        .where(Member.program_id == program.id, Member.erased_at.is_(None))
        .order_by(Member.id)
        .execution_options(yield_per=1000)
    )
    for member, card in rows:
        out.seek(0)
        out.truncate()
        writer.writerow(
            [
                member.phone,
                member.name,
                member.birthday.isoformat() if member.birthday else "",
                member.email or "",
                member.locale,
                "yes" if member.marketing_consent else "no",
                card.number,
                card.tier.code,
                card.balance,
                member.stage or "",
                member.created_at.isoformat(timespec="seconds"),
            ]
        )
        yield out.getvalue()
