"""Who is logged in to the console, for how long, and with which role."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import g, redirect, request, session, url_for

from app.services import staff
from app.staff.errors import ForbiddenError
from app.web.db import db, services

if TYPE_CHECKING:
    from app.staff.models import StaffUser

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
F = TypeVar("F", bound=Callable[..., Any])


def log_in(signed: staff.SignedIn) -> None:
    session.clear()  # a new session at every login: nothing carries over from before
    session.permanent = True
    now = _now()
    session.update(
        {
            "staff_id": signed.user_id,
            "sv": signed.session_version,  # ends when the user row's version moves on
            "login_at": now,
            "seen_at": now,
        }
    )


def log_out() -> None:
    """End this session everywhere: a copy of the cookie stops working too."""
    user = current_staff()
    if user is not None:
        staff.log_out(db(), services().clock, user)
    session.clear()


def current_staff() -> StaffUser | None:
    if "staff" in g:
        found: StaffUser | None = g.staff
        return found
    user = None
    staff_id, version = session.get("staff_id"), session.get("sv")
    now = _now()
    if isinstance(staff_id, int) and isinstance(version, int):
        login_at, seen_at = int(session.get("login_at", 0)), int(session.get("seen_at", 0))
        if now - seen_at <= IDLE_SECONDS and now - login_at <= ABSOLUTE_SECONDS:
            user = staff.get_user(db(), staff_id, version)
        if user is None:
            session.clear()
        else:
            session["seen_at"] = now
    g.staff = user
    return user


def _now() -> int:
    return int(services().clock.now().timestamp())


def require(*roles: str) -> Callable[[F], F]:
    """Only logged-in staff (of these roles, when given) get through."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                return redirect(url_for("console.login", next=request.path))
            if roles and user.role not in roles:
                raise ForbiddenError(user.role)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
