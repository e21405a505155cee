"""Staff accounts: creating them, logging in (with lockout), and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import keys
from app.clock import Clock
from app.loyalty import rules
from app.loyalty.errors import ValidationError
from app.staff.models import ROLES, AuditEntry, StaffApiToken, StaffUser
from app.staff.passwords import dummy_hash, hash_password, password_problem, verify_password

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


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
) -> StaffUser:
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
    audit(session, clock, actor, "staff.created", clean_email, {"role": role})
    return user


def login(session: Session, clock: Clock, email: str, password: str) -> StaffUser | None:
    """The user, or None. Five wrong passwords lock the account for 15 minutes.

    A failed attempt changes the failure count, so the caller commits in both cases.
    """
    now = clock.now()
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        verify_password(password, dummy_hash())  # same time as a real check
        return None
    if user.disabled_at is not None or (user.locked_until is not None and user.locked_until > now):
        return None
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            audit(session, clock, user, "staff.locked_out", user.email)
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit(session, clock, user, "staff.login", user.email)
    return user


def get_user(session: Session, user_id: int) -> StaffUser | None:
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.disabled_at is None else None


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
