"""Re-sending a program's Google Wallet class. Google keeps the program's name, colours,
logo, labels and store locations on the class, not on each card: a change to any of them
re-sends the class once the transaction commits (the worker makes the call)."""

from __future__ import annotations

import functools
from typing import Protocol

from sqlalchemy.orm import Session

from app.db import after_commit


class ClassQueue(Protocol):
    def sync_google_class(self, program_id: int) -> None: ...


def resend_after_commit(session: Session, queue: ClassQueue | None, program_id: int) -> None:
    """Queue the class of the program after commit; ``queue`` None: Google Wallet is
    not configured, nothing to send."""
    if queue is not None:
        after_commit(session, functools.partial(queue.sync_google_class, program_id))
