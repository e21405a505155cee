"""Staff accounts: creating them, logging in, ending their sessions, withdrawing their
credentials, and the audit log.

Logging in is three steps so the slow scrypt check holds no transaction (on SQLite a
write transaction holds the database's only write lock, which every till needs):
``login_candidate`` reads, ``check_password`` verifies with no session at all, and
``record_login`` writes the outcome in a short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import keys
from app.clock import Clock
from app.db import Transactions
from app.loyalty import rules
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.staff.errors import StaffStateError
from app.staff.models import (
    ROLES as ROLES,  # re-exported: the roles a form offers
)
from app.staff.models import (
    AuditEntry,
    StaffApiToken,
    StaffProgram,
    StaffStore,
    StaffUser,
)
from app.staff.passwords import dummy_hash, hash_password, password_problem, verify_password


def audit(
    session: Session,
    clock: Clock,
    actor: StaffUser | str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    user = actor if isinstance(actor, StaffUser) else None
    session.add(
        AuditEntry(
            at=clock.now(),
            actor_id=user.id if user else None,
            actor=user.email if user else str(actor),
            action=action,
            target=target,
            details=details,
        )
    )


def add_user(
    session: Session,
    clock: Clock,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    actor: StaffUser | str,
    programs: Sequence[Program] = (),
) -> StaffUser:
    """A new account; non-admins work on ``programs`` only (admins see all of them)."""
    errors: dict[str, str] = {}
    clean_email = rules.clean_email(email)
    if clean_email is None:
        errors["email"] = "is not a valid e-mail address"
    elif session.scalar(select(StaffUser.id).where(StaffUser.email == clean_email)):
        errors["email"] = "already has an account"
    clean_name = rules.clean_name(name)
    if clean_name is None:
        errors["name"] = "is required (1 to 100 characters)"
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    problem = password_problem(password, clean_email or email)
    if problem:
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    assert clean_email is not None and clean_name is not None
    user = StaffUser(
        email=clean_email,
        name=clean_name,
        role=role,
        password_hash=hash_password(password),
        failed_logins=0,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    if role != "admin":
        session.add_all(StaffProgram(user_id=user.id, program_id=p.id) for p in programs)
    audit(
        session,
        clock,
        actor,
        "staff.created",
        clean_email,
        {"role": role, "programs": sorted(p.slug for p in programs) if role != "admin" else "all"},
    )
    return user


@dataclass(frozen=True)
class LoginCandidate:
    """What a login attempt checks the password against, read before the check."""

    user_id: int | None  # None: no such account (checked against a dummy hash)
    password_hash: str
    usable: bool  # False for a disabled account: checked all the same, then refused


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    session_version: int


def login_candidate(session: Session, email: str) -> LoginCandidate:
    user = find_user(session, email)
    if user is None:
        return LoginCandidate(None, dummy_hash(), usable=False)
    return LoginCandidate(user.id, user.password_hash, usable=user.disabled_at is None)


def check_password(candidate: LoginCandidate, password: str) -> bool:
    """One scrypt check whatever the account's state: unknown, disabled and existing
    accounts take the same time, so timing tells nobody which e-mails have accounts."""
    matches = verify_password(password, candidate.password_hash)
    return matches and candidate.usable and candidate.user_id is not None


def record_login(
    session: Session, clock: Clock, candidate: LoginCandidate, password_ok: bool
) -> SignedIn | None:
    """Store the outcome: failures are counted (shown to admins; guessing is throttled by
    the per-address and per-account rate limits, not punished with a lockout that would
    let anyone keep the real user out). None unless the user may sign in."""
    if candidate.user_id is None:
        return None
    user = session.get(StaffUser, candidate.user_id)
    if user is None:
        return None
    # Re-checked on the fresh row: disabled or given a new password during the check.
    if (
        not password_ok
        or user.disabled_at is not None
        or (user.password_hash != candidate.password_hash)
    ):
        user.failed_logins += 1
        return None
    user.failed_logins = 0
    user.last_login_at = clock.now()
    audit(session, clock, user, "staff.login", user.email)
    return SignedIn(user.id, user.session_version)


def sign_in(transactions: Transactions, clock: Clock, email: str, password: str) -> SignedIn | None:
    """A console login: the account is read, the password checked outside any
    transaction (scrypt takes a while: a writing SQLite transaction would hold the
    write lock through it, stalling every till), then the outcome recorded."""
    with transactions(write=False) as session:
        candidate = login_candidate(session, email)
    password_ok = check_password(candidate, password)
    if candidate.user_id is None:
        return None
    with transactions() as session:
        return record_login(session, clock, candidate, password_ok)


def end_sessions(user: StaffUser) -> None:
    """Every console session of ``user`` ends now (their cookies carry the old version)."""
    user.session_version += 1


def log_out(session: Session, clock: Clock, user: StaffUser) -> None:
    end_sessions(user)
    audit(session, clock, user, "staff.logout", user.email)


def change_password(
    session: Session, clock: Clock, user: StaffUser, password: str, actor: StaffUser | str
) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise ValidationError({"password": problem})
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    end_sessions(user)
    audit(session, clock, actor, "staff.password_changed", user.email)


def set_disabled(
    session: Session, clock: Clock, user: StaffUser, disabled: bool, actor: StaffUser | str
) -> None:
    """Disable (sessions and API tokens stop working at once) or enable an account.
    The last enabled admin cannot be disabled: nobody could manage the staff then."""
    if disabled and user.role == "admin" and user.disabled_at is None:
        others = session.scalar(
            select(func.count()).where(
                StaffUser.role == "admin", StaffUser.disabled_at.is_(None), StaffUser.id != user.id
            )
        )
        if not others:
            raise StaffStateError("the last enabled admin cannot be disabled")
    if disabled == (user.disabled_at is not None):
        return
    user.disabled_at = clock.now() if disabled else None
    end_sessions(user)
    audit(session, clock, actor, "staff.disabled" if disabled else "staff.enabled", user.email)


def change_role(
    session: Session, clock: Clock, user: StaffUser, role: str, actor: StaffUser | str
) -> bool:
    """Give ``user`` another role; their sessions end (the console they see changes).
    An admin keeps no program list (admins see all); only store managers keep stores.
    The last enabled admin keeps the role."""
    if role not in ROLES:
        raise ValidationError({"role": f"must be one of {', '.join(ROLES)}"})
    if role == user.role:
        return False
    if user.role == "admin" and user.disabled_at is None:
        others = session.scalar(
            select(func.count()).where(
                StaffUser.role == "admin", StaffUser.disabled_at.is_(None), StaffUser.id != user.id
            )
        )
        if not others:
            raise StaffStateError("the last enabled admin keeps the admin role")
    before = user.role
    user.role = role
    if role == "admin":
        session.execute(delete(StaffProgram).where(StaffProgram.user_id == user.id))
    if role != "store_manager":
        session.execute(delete(StaffStore).where(StaffStore.user_id == user.id))
    end_sessions(user)
    session.flush()
    audit(session, clock, actor, "staff.role_changed", user.email, {"from": before, "to": role})
    return True


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def list_tokens(session: Session, user: StaffUser) -> list[StaffApiToken]:
    return list(
        session.scalars(
            select(StaffApiToken).where(StaffApiToken.user_id == user.id).order_by(StaffApiToken.id)
        )
    )


def revoke_token(
    session: Session, clock: Clock, token_id: int, actor: StaffUser | str
) -> StaffApiToken:
    """Revoke an API token by id; revoking a revoked token changes nothing."""
    token = session.get(StaffApiToken, token_id)
    if token is None:
        raise StaffStateError(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        owner = session.get(StaffUser, token.user_id)
        audit(
            session,
            clock,
            actor,
            "staff.api_token_revoked",
            owner.email if owner else None,
            {"token_id": token.id, "name": token.name},
        )
    return token


def get_user(
    session: Session, user_id: int, session_version: int | None = None
) -> StaffUser | None:
    """The enabled user; with ``session_version``, only if that session has not ended."""
    user = session.get(StaffUser, user_id)
    if user is None or user.disabled_at is not None:
        return None
    if session_version is not None and user.session_version != session_version:
        return None
    return user


def user_by_id(session: Session, user_id: int) -> StaffUser | None:
    """The user, enabled or not (what an admin manages)."""
    return session.get(StaffUser, user_id)


def count_admins(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(StaffUser.role == "admin")) or 0)


TOKEN_KIND = "wps"  # noqa: S105 - the tag in front of tokens, not a secret


def create_api_token(session: Session, clock: Clock, user: StaffUser, name: str) -> str:
    """A new API token for ``user``; returns the token, which is never stored or shown again."""
    new = keys.new_key(TOKEN_KIND)
    session.add(
        StaffApiToken(
            user_id=user.id,
            name=name.strip()[:100] or "api",
            prefix=new.prefix,
            token_hash=new.digest,
            created_at=clock.now(),
        )
    )
    audit(session, clock, user, "staff.api_token_created", user.email, {"name": name})
    return new.key


def user_for_token(session: Session, token: str | None) -> StaffUser | None:
    prefix = keys.split(TOKEN_KIND, token)
    row = (
        session.scalar(select(StaffApiToken).where(StaffApiToken.prefix == prefix))
        if prefix is not None
        else None
    )
    if not keys.matches(row.token_hash if row else None, token) or row is None:
        return None
    if row.revoked_at is not None:
        return None
    return get_user(session, row.user_id)


def find_user(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
