"""Terminal keys: created once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, Store
from app.till.errors import UnauthorizedTerminalError
from app.till.models import Terminal

KEY_PREFIX = "wpt"
_TOUCH_EVERY = timedelta(minutes=5)


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough (no password stretching).
    return hashlib.sha256(key.encode()).hexdigest()


def add_terminal(
    session: Session, clock: Clock, program: Program, name: str, store_code: str | None = None
) -> tuple[Terminal, str]:
    """Create a terminal; returns it and its key, which is never shown again."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError({"name": "is required (1 to 100 characters)"})
    if session.scalar(
        select(Terminal.id).where(Terminal.program_id == program.id, Terminal.name == name)
    ):
        raise ValidationError({"name": f"a terminal named {name!r} already exists"})
    store_id = None
    if store_code is not None:
        store_id = session.scalar(
            select(Store.id).where(Store.program_id == program.id, Store.code == store_code)
        )
        if store_id is None:
            raise ValidationError({"store": f"no store {store_code!r} in this program"})
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    terminal = Terminal(
        program_id=program.id,
        store_id=store_id,
        name=name,
        key_prefix=prefix,
        key_hash=_hash(key),
        created_at=clock.now(),
    )
    session.add(terminal)
    session.flush()
    return terminal, key


def authenticate(session: Session, clock: Clock, key: str | None, *, touch: bool) -> Terminal:
    """The active terminal owning ``key``; raises UnauthorizedTerminalError otherwise."""
    parts = (key or "").split("_", 2)
    terminal = None
    if len(parts) == 3 and parts[0] == KEY_PREFIX:
        terminal = session.scalar(select(Terminal).where(Terminal.key_prefix == parts[1]))
    expected = terminal.key_hash if terminal is not None else "0" * 64
    if not hmac.compare_digest(expected, _hash(key or "")) or terminal is None:
        raise UnauthorizedTerminalError()
    if terminal.revoked_at is not None:
        raise UnauthorizedTerminalError()
    now = clock.now()
    if touch and (terminal.last_used_at is None or now - terminal.last_used_at > _TOUCH_EVERY):
        terminal.last_used_at = now
    return terminal


def revoke(session: Session, clock: Clock, program: Program, name_or_prefix: str) -> Terminal:
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
    return terminal


def list_terminals(session: Session, program: Program) -> list[Terminal]:
    return list(
        session.scalars(
            select(Terminal).where(Terminal.program_id == program.id).order_by(Terminal.id)
        )
    )
