"""Passes whose content could not be rendered: marked with the reason, held from
delivery on every channel, and retried with backoff (1 min, 2, 4 … capped at 1 h).

A failure is one pass's problem: delivery of the others in its batch goes on. The
worker probes a held pass again once its ``retry_at`` has come; a render that
succeeds deletes the mark and the pass is delivered as usual.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.passes.models import AppleRegistration, PassRenderFailure, WalletPass

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
REASON_MAX = 300


def backoff(failures: int) -> timedelta:
    """How long to wait after the n-th failure in a row: 1 min, 2, 4 … at most an hour."""
    doublings = min(max(failures - 1, 0), 6)  # 2**6 min already passes the cap
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def reason_of(exc: BaseException) -> str:
    """A short reason for the operator: the exception's type and message, truncated."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def marked(session: Session, pass_ids: Collection[int]) -> dict[int, datetime]:
    """Pass id -> when it may be tried again, for the marked passes among these."""
    if not pass_ids:
        return {}
    return {
        pass_id: retry_at
        for pass_id, retry_at in session.execute(
            select(PassRenderFailure.pass_id, PassRenderFailure.retry_at).where(
                PassRenderFailure.pass_id.in_(list(pass_ids))
            )
        )
    }


def waiting(session: Session, now: datetime) -> set[int]:
    """Marked passes whose next try has not come yet (the sweeper leaves them alone)."""
    return set(
        session.scalars(select(PassRenderFailure.pass_id).where(PassRenderFailure.retry_at > now))
    )


def record(session: Session, clock: Clock, failures: Mapping[int, str]) -> None:
    """Mark these passes as failing with their reasons. A failure at or after the
    scheduled retry lengthens the backoff; one before it (a phone fetching the pass
    meanwhile) only refreshes the reason, so many fetches do not push the retry away."""
    if not failures:
        return
    now = clock.now()
    rows = {
        row.pass_id: row
        for row in session.scalars(
            select(PassRenderFailure).where(PassRenderFailure.pass_id.in_(list(failures)))
        )
    }
    for pass_id, reason in failures.items():
        row = rows.get(pass_id)
        if row is None:
            session.add(
                PassRenderFailure(
                    pass_id=pass_id,
                    reason=reason[:REASON_MAX],
                    failures=1,
                    first_failed_at=now,
                    last_failed_at=now,
                    retry_at=now + backoff(1),
                )
            )
            continue
        row.reason, row.last_failed_at = reason[:REASON_MAX], now
        if row.retry_at <= now:
            row.failures += 1
            row.retry_at = now + backoff(row.failures)
    session.flush()


def fetch_failed(session: Session, clock: Clock, pass_id: int, reason: str) -> None:
    """A phone could not fetch the pass: mark it, and owe its Apple push again, so the
    phones are told once the pass renders (the worker's retry)."""
    record(session, clock, {pass_id: reason})
    session.execute(
        update(WalletPass)
        .where(WalletPass.id == pass_id, WalletPass.apns_delivered_version >= WalletPass.version)
        .values(apns_delivered_version=WalletPass.version - 1)
        .execution_options(synchronize_session=False)
    )
    # Devices remembered as told (while others were owed) are owed again too.
    session.execute(
        update(AppleRegistration)
        .where(AppleRegistration.pass_id == pass_id, AppleRegistration.delivered_version > 0)
        .values(delivered_version=0)
        .execution_options(synchronize_session=False)
    )


def clear(session: Session, pass_ids: Collection[int]) -> int:
    """The passes rendered again: remove their marks. Returns how many were marked."""
    if not pass_ids:
        return 0
    result = session.execute(
        delete(PassRenderFailure).where(PassRenderFailure.pass_id.in_(list(pass_ids)))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Summary:
    passes: int
    reasons: list[tuple[str, int]]  # most frequent first
    next_retry: datetime | None


def summary(session: Session, top: int = 5) -> Summary:
    passes, next_retry = session.execute(
        select(func.count(), func.min(PassRenderFailure.retry_at))
    ).one()
    n = func.count().label("n")
    reasons = [
        (str(reason), int(count))
        for reason, count in session.execute(
            select(PassRenderFailure.reason, n)
            .group_by(PassRenderFailure.reason)
            .order_by(n.desc(), PassRenderFailure.reason)
            .limit(top)
        )
    ]
    return Summary(int(passes), reasons, next_retry)
