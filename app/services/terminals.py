"""Terminal keys: created once, stored hashed, revocable; and pairing a till by a QR
code (a short-lived one-time code that the cashier page trades for a new key)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import keys
from app.bounds import has_control_characters
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, Store
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.errors import UnauthorizedTerminalError
from app.till.models import Terminal

KEY_PREFIX = "wpt"
_TOUCH_EVERY = timedelta(minutes=5)


def add_terminal(
    session: Session,
    clock: Clock,
    program: Program,
    name: str,
    store_code: str | None = None,
    actor: StaffUser | str = "cli",
) -> tuple[Terminal, str]:
    """Create a terminal; returns it and its key, which is never shown again."""
    name = checked_name(session, program, name)
    store_id = None
    if store_code is not None:
        store_id = session.scalar(
            select(Store.id).where(Store.program_id == program.id, Store.code == store_code)
        )
        if store_id is None:
            raise ValidationError({"store": f"no store {store_code!r} in this program"})
    return create(session, clock, program, name, store_id, actor, "terminal.added")


def checked_name(session: Session, program: Program, raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > 100 or has_control_characters(raw):
        raise ValidationError({"name": "is required (1 to 100 characters)"})
    if session.scalar(
        select(Terminal.id).where(Terminal.program_id == program.id, Terminal.name == name)
    ):
        raise ValidationError({"name": f"a terminal named {name!r} already exists"})
    return name


def create(
    session: Session,
    clock: Clock,
    program: Program,
    name: str,
    store_id: int | None,
    actor: StaffUser | str,
    action: str,
) -> tuple[Terminal, str]:
    new = keys.new_key(KEY_PREFIX)
    terminal = Terminal(
        program_id=program.id,
        store_id=store_id,
        name=name,
        key_prefix=new.prefix,
        key_hash=new.digest,
        created_at=clock.now(),
    )
    session.add(terminal)
    session.flush()
    audit(session, clock, actor, action, f"{program.slug}/{name}", {"prefix": new.prefix})
    return terminal, new.key


def is_terminal_key(key: str | None) -> bool:
    """Whether ``key`` is shaped like a terminal key (not whether it is valid)."""
    return keys.split(KEY_PREFIX, key) is not None


def authenticate(session: Session, clock: Clock, key: str | None, *, touch: bool) -> Terminal:
    """The active terminal owning ``key``; raises UnauthorizedTerminalError otherwise."""
    prefix = keys.split(KEY_PREFIX, key)
    terminal = None
    if prefix is not None:
        terminal = session.scalar(select(Terminal).where(Terminal.key_prefix == prefix))
    if not keys.matches(terminal.key_hash if terminal else None, key) or terminal is None:
        raise UnauthorizedTerminalError()
    if terminal.revoked_at is not None:
        raise UnauthorizedTerminalError()
    now = clock.now()
    if touch and (terminal.last_used_at is None or now - terminal.last_used_at > _TOUCH_EVERY):
        terminal.last_used_at = now
    return terminal


def revoke(
    session: Session,
    clock: Clock,
    program: Program,
    name_or_prefix: str,
    actor: StaffUser | str = "cli",
) -> Terminal:
    terminal = session.scalar(
        select(Terminal).where(
            Terminal.program_id == program.id,
            (Terminal.name == name_or_prefix) | (Terminal.key_prefix == name_or_prefix),
        )
    )
    if terminal is None:
        raise ValidationError({"terminal": f"no terminal {name_or_prefix!r} in this program"})
    if terminal.revoked_at is None:
        terminal.revoked_at = clock.now()
        audit(session, clock, actor, "terminal.revoked", f"{program.slug}/{terminal.name}")
    return terminal


def list_terminals(session: Session, program: Program) -> list[Terminal]:
    return list(
        session.scalars(
            select(Terminal).where(Terminal.program_id == program.id).order_by(Terminal.id)
        )
    )
