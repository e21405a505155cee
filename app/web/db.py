"""One request, one transaction: opened on first use, committed by the entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request

from app.bootstrap import Services
from app.services.google_class import ClassQueue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def services() -> Services:
    svc: Services = current_app.extensions["walletpass"]
    return svc


def google_class_queue() -> ClassQueue | None:
    """Where a program's Google class is re-sent from; None without Google Wallet."""
    svc = services()
    return svc.queue if svc.google is not None else None


def db() -> Session:
    """The request's session; writing requests take the write lock up front on SQLite."""
    session: Session | None = g.get("_db")
    if session is None:
        svc = services()
        maker = svc.read_sessions if request.method in SAFE_METHODS else svc.write_sessions
        session = maker()
        g._db = session
    return session


def write_db() -> Session:
    """The request's session as a writing one, for a GET that records something (an
    audited download); call it before anything else opens the session."""
    session: Session | None = g.get("_db")
    if session is None:
        session = g._db = services().write_sessions()
    return session


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        # Commit before the response leaves, so a client never sees success for
        # something that was not stored. Errors (>= 400) roll back in teardown.
        session: Session | None = g.get("_db")
        if session is not None and response.status_code < 400:
            session.commit()
        return response

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db", None)
        if session is not None:
            session.rollback()
            session.close()
