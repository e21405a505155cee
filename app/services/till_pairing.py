"""Pairing a till by QR code: an admin asks for a code for a store and a till name; the
console shows it as a QR code (and as text to type); the cashier page that sends it
back within ``PAIRING_MINUTES`` becomes that till and receives its key, once.

The code is 10 characters of an unambiguous alphabet (50 bits), stored only as a hash,
valid once and for ten minutes; redemption is rate-limited per address by the web layer.
It is never the key itself: the key is made at redemption and shown to nobody else.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, Store
from app.services import terminals
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.models import Terminal, TerminalPairing

PAIRING_MINUTES = 10
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no I/L/O/U/0/1: read aloud and typed easily
CODE_LENGTH = 10
WRONG = "the pairing code is wrong, already used or expired: ask for a new QR code"


@dataclass(frozen=True)
class NewPairing:
    code: str  # shown once, in the QR code
    pairing: TerminalPairing


@dataclass(frozen=True)
class Paired:
    terminal: Terminal
    key: str


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def pretty(code: str) -> str:
    """The code in groups, to read and type: ABCD-EFGH-JK."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def start_pairing(
    session: Session,
    clock: Clock,
    program: Program,
    store_code: str,
    name: str,
    actor: StaffUser | str,
) -> NewPairing:
    errors: dict[str, str] = {}
    store = session.scalar(
        select(Store).where(Store.program_id == program.id, Store.code == store_code)
    )
    if store is None:
        errors["store"] = "choose a store of this program"
    clean = ""
    try:
        clean = terminals.checked_name(session, program, name)
    except ValidationError as exc:
        errors.update(exc.fields)
    now = clock.now()
    if clean and session.scalar(
        select(TerminalPairing.id).where(
            TerminalPairing.program_id == program.id,
            TerminalPairing.name == clean,
            TerminalPairing.used_at.is_(None),
            TerminalPairing.expires_at > now,
        )
    ):
        errors["name"] = "a QR code for a till of this name is waiting to be scanned"
    if errors:
        raise ValidationError(errors)
    assert store is not None
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    pairing = TerminalPairing(
        program_id=program.id,
        store_id=store.id,
        name=clean,
        code_hash=_hash(code),
        created_by=actor.email if isinstance(actor, StaffUser) else actor,
        created_at=now,
        expires_at=now + timedelta(minutes=PAIRING_MINUTES),
    )
    session.add(pairing)
    session.flush()
    audit(
        session,
        clock,
        actor,
        "terminal.pairing_started",
        f"{program.slug}/{clean}",
        {"store": store.code, "expires_at": pairing.expires_at.isoformat()},
    )
    return NewPairing(code, pairing)


def redeem(session: Session, clock: Clock, code: str) -> Paired:
    """The new till and its key for a valid code; the code is spent by a conditional
    UPDATE, so two pages scanning the same code at once get one till between them."""
    now = clock.now()
    cleaned = normalise(code)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        raise ValidationError({"code": WRONG})
    pairing = session.scalar(
        select(TerminalPairing).where(TerminalPairing.code_hash == _hash(cleaned))
    )
    if pairing is None or pairing.used_at is not None or pairing.expires_at <= now:
        raise ValidationError({"code": WRONG})
    spent = session.execute(
        update(TerminalPairing)
        .where(TerminalPairing.id == pairing.id, TerminalPairing.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        raise ValidationError({"code": WRONG})
    program = session.get(Program, pairing.program_id)
    assert program is not None
    try:
        name = terminals.checked_name(session, program, pairing.name)
    except ValidationError:
        raise ValidationError({"code": WRONG}) from None
    terminal, key = terminals.create(
        session,
        clock,
        program,
        name,
        pairing.store_id,
        f"pairing:{pairing.created_by}",
        "terminal.paired",
    )
    pairing.terminal_id = terminal.id
    session.flush()
    return Paired(terminal, key)


def pending(session: Session, clock: Clock, program: Program) -> list[TerminalPairing]:
    """Codes not scanned yet and still valid (to show who is waiting)."""
    return list(
        session.scalars(
            select(TerminalPairing)
            .where(
                TerminalPairing.program_id == program.id,
                TerminalPairing.used_at.is_(None),
                TerminalPairing.expires_at > clock.now(),
            )
            .order_by(TerminalPairing.id)
        )
    )
