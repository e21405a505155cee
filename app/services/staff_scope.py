"""Which programs (and, for store managers, which stores) a staff user works on.

Admins see every program. Everyone else sees the programs they were added to, and a
store manager given stores sees only those stores' figures. Outside that, a program
does not exist for them (callers answer 404, not 403: no hint that it exists).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, Store
from app.services.staff import audit
from app.staff.models import StaffProgram, StaffStore, StaffUser


def program_ids(session: Session, user: StaffUser) -> set[int] | None:
    """The ids of the user's programs; None means all (admins)."""
    if user.role == "admin":
        return None
    return set(
        session.scalars(select(StaffProgram.program_id).where(StaffProgram.user_id == user.id))
    )


def programs_of(session: Session, user: StaffUser) -> list[Program]:
    query = select(Program).order_by(Program.slug)
    ids = program_ids(session, user)
    if ids is not None:
        query = query.where(Program.id.in_(ids))
    return list(session.scalars(query))


def may_see(session: Session, user: StaffUser, program_id: int) -> bool:
    ids = program_ids(session, user)
    return ids is None or program_id in ids


def program_for(session: Session, user: StaffUser, slug: str | None) -> Program | None:
    """The user's program of that slug (their first one when no slug); None otherwise."""
    query = select(Program).order_by(Program.slug).limit(1)
    if slug:
        query = query.where(Program.slug == slug)
    ids = program_ids(session, user)
    if ids is not None:
        query = query.where(Program.id.in_(ids))
    return session.scalar(query)


def store_ids(session: Session, user: StaffUser) -> set[int] | None:
    """The stores a store manager runs; None when not limited to stores."""
    if user.role != "store_manager":
        return None
    ids = set(session.scalars(select(StaffStore.store_id).where(StaffStore.user_id == user.id)))
    return ids or None


def set_scope(
    session: Session,
    clock: Clock,
    user: StaffUser,
    programs: Sequence[Program],
    stores: Sequence[Store],
    actor: StaffUser | str,
) -> None:
    """Replace the user's programs (and stores, for a store manager)."""
    errors: dict[str, str] = {}
    if user.role == "admin" and (programs or stores):
        errors["programs"] = "admins work on every program; nothing to assign"
    if stores and user.role != "store_manager":
        errors["stores"] = "only store managers are limited to stores"
    wanted = {p.id for p in programs}
    if any(s.program_id not in wanted for s in stores):
        errors["stores"] = "each store must belong to one of the user's programs"
    if errors:
        raise ValidationError(errors)
    session.execute(delete(StaffProgram).where(StaffProgram.user_id == user.id))
    session.execute(delete(StaffStore).where(StaffStore.user_id == user.id))
    session.add_all(StaffProgram(user_id=user.id, program_id=p.id) for p in programs)
    session.add_all(StaffStore(user_id=user.id, store_id=s.id) for s in stores)
    session.flush()
    audit(
        session,
        clock,
        actor,
        "staff.scope_changed",
        user.email,
        {
            "programs": sorted(p.slug for p in programs),
            "stores": sorted(f"{s.program.slug}/{s.code}" for s in stores),
        },
    )
