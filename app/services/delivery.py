"""Delivering pass changes to Apple devices: what is owed, and recording the answers.

The worker calls ``pending_apple`` in one transaction, sends over APNs outside any
transaction, then ``record_apple`` in another. A pass's delivered version moves only
when every registered device has a final answer, so a crash, a dead worker or a
failed push leaves it owed, and the sweeper sends it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import metrics
from app.campaigns.models import CampaignTarget
from app.clock import Clock
from app.db import after_commit
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.push.models import PushAlarm, PushCounter
from app.push.rules import SendResult, decide
from app.push.wallet_apps import APPLE_WALLET
from app.services import wallet_events

CHANNEL = "apns"


@dataclass(frozen=True)
class Target:
    pass_id: int
    version: int
    registration_id: int
    device_id: int
    token: str
    registered_at: datetime


@dataclass
class Owed:
    targets: list[Target]
    versions: dict[int, int]  # every owed pass -> the version being delivered

    @property
    def tokens(self) -> list[str]:
        return list(dict.fromkeys(t.token for t in self.targets))


@dataclass
class Report:
    outcomes: Counter[str] = field(default_factory=Counter)
    pruned: int = 0
    delivered_passes: int = 0
    config_error: str | None = None


def pending_apple(session: Session, pass_ids: Sequence[int]) -> Owed:
    versions: dict[int, int] = {
        pass_id: version
        for pass_id, version in session.execute(
            select(WalletPass.id, WalletPass.version).where(
                WalletPass.id.in_(pass_ids), WalletPass.version > WalletPass.apns_delivered_version
            )
        )
    }
    if not versions:
        return Owed([], {})
    rows = session.execute(
        select(
            AppleRegistration.pass_id,
            AppleRegistration.id,
            AppleDevice.id,
            AppleDevice.push_token,
            AppleRegistration.created_at,
            AppleDevice.updated_at,
        )
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(
            AppleRegistration.pass_id.in_(list(versions)),
            # Android apps' tokens are not APNs tokens: Apple would answer 400 and we
            # would prune a live registration. Their relays are a channel of their own.
            AppleDevice.wallet_app == APPLE_WALLET,
        )
    ).all()
    targets = [
        Target(pass_id, versions[pass_id], reg_id, dev_id, token, max(created, touched))
        for pass_id, reg_id, dev_id, token, created, touched in rows
    ]
    return Owed(targets, versions)


def record_apple(
    session: Session, clock: Clock, owed: Owed, results: Mapping[str, SendResult]
) -> Report:
    report = Report()
    undone: set[int] = set()
    prune_regs: set[int] = set()
    per_pass: dict[int, list[int]] = {}  # pass -> [accepted, failed, pruned]
    for target in owed.targets:
        result = results.get(target.token)
        if result is None:  # not sent (the batch stopped): still owed
            undone.add(target.pass_id)
            continue
        if result.outcome == "config_error" and report.config_error is None:
            report.config_error = f"{result.status} {result.reason}"
        decision = decide(result, target.registered_at)
        tally = per_pass.setdefault(target.pass_id, [0, 0, 0])
        tally[2 if decision.prune else 0 if result.outcome == "accepted" else 1] += 1
        if decision.prune:
            prune_regs.add(target.registration_id)
        if not decision.done:
            undone.add(target.pass_id)
    for result in results.values():
        report.outcomes[result.outcome] += 1
    if prune_regs:
        wallet_events.record_removals(session, clock, prune_regs, "apns_pruned")
        report.pruned = _prune(session, prune_regs)
    # One UPDATE per distinct version (a campaign's chunk is usually one or two).
    by_version: dict[int, list[int]] = {}
    for pass_id, version in owed.versions.items():
        if pass_id not in undone:
            by_version.setdefault(version, []).append(pass_id)
    for version, ids in by_version.items():
        session.execute(
            update(WalletPass)
            .where(WalletPass.id.in_(ids), WalletPass.apns_delivered_version < version)
            .values(apns_delivered_version=version)
            .execution_options(synchronize_session=False)
        )
        report.delivered_passes += len(ids)
    _tally_campaigns(session, owed.versions, per_pass)
    day = clock.now().date()
    for outcome, n in report.outcomes.items():
        count(session, day, outcome, n)
    if report.pruned:
        count(session, day, "pruned", report.pruned)
    if report.config_error:
        raise_alarm(
            session, clock, "config_error", f"APNs refused our credentials: {report.config_error}"
        )
    return report


def _tally_campaigns(
    session: Session, versions: Mapping[int, int], per_pass: Mapping[int, list[int]]
) -> None:
    """Add the answers to the campaign target whose offer made this version of the pass,
    one UPDATE per distinct (version, tally) so a 1 000-pass chunk costs a few."""
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for pass_id, (accepted, failed, pruned) in per_pass.items():
        groups.setdefault((versions[pass_id], accepted, failed, pruned), []).append(pass_id)
    for (version, accepted, failed, pruned), pass_ids in groups.items():
        cards = select(WalletPass.card_id).where(WalletPass.id.in_(pass_ids)).scalar_subquery()
        session.execute(
            update(CampaignTarget)
            .where(CampaignTarget.card_id.in_(cards), CampaignTarget.pass_version == version)
            .values(
                pushes_accepted=CampaignTarget.pushes_accepted + accepted,
                pushes_failed=CampaignTarget.pushes_failed + failed,
                pushes_pruned=CampaignTarget.pushes_pruned + pruned,
            )
            .execution_options(synchronize_session=False)
        )


def _prune(session: Session, registration_ids: set[int]) -> int:
    devices = set(
        session.scalars(
            select(AppleRegistration.device_id).where(AppleRegistration.id.in_(registration_ids))
        )
    )
    session.execute(delete(AppleRegistration).where(AppleRegistration.id.in_(registration_ids)))
    orphans = select(AppleRegistration.id).where(AppleRegistration.device_id == AppleDevice.id)
    session.execute(delete(AppleDevice).where(AppleDevice.id.in_(devices), ~orphans.exists()))
    return len(registration_ids)


def count(session: Session, day: date, outcome: str, n: int, channel: str = CHANNEL) -> None:
    """Add n to a daily counter (an upsert, safe with several workers), and to the
    process metrics once the transaction commits."""
    after_commit(session, partial(metrics.count_pushes, channel, {outcome: n}))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(PushCounter).values(day=day, channel=channel, outcome=outcome, count=n)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "channel", "outcome"],
            set_={"count": PushCounter.count + stmt.excluded.count},
        )
    )


def open_alarm(session: Session, channel: str = CHANNEL) -> PushAlarm | None:
    return session.scalar(
        select(PushAlarm).where(PushAlarm.channel == channel, PushAlarm.cleared_at.is_(None))
    )


def paused_channels(session: Session) -> set[str]:
    """Channels with an open alarm: each pauses only itself (APNs, Google, relays)."""
    return set(session.scalars(select(PushAlarm.channel).where(PushAlarm.cleared_at.is_(None))))


def raise_alarm(
    session: Session, clock: Clock, reason: str, message: str, channel: str = CHANNEL
) -> None:
    if open_alarm(session, channel) is None:
        session.add(
            PushAlarm(channel=channel, reason=reason, message=message, raised_at=clock.now())
        )


def clear_alarms(session: Session, clock: Clock, channel: str = CHANNEL) -> int:
    result = session.execute(
        update(PushAlarm)
        .where(PushAlarm.channel == channel, PushAlarm.cleared_at.is_(None))
        .values(cleared_at=clock.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def stale_apple(
    session: Session, clock: Clock, older_than: timedelta, limit: int = 100_000
) -> list[int]:
    """Passes whose change has been owed to devices for longer than ``older_than``."""
    return list(
        session.scalars(
            select(WalletPass.id)
            .where(
                WalletPass.version > WalletPass.apns_delivered_version,
                WalletPass.updated_at <= clock.now() - older_than,
            )
            .order_by(WalletPass.updated_at)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Stats:
    counters: dict[str, int]
    today: dict[str, int]
    pending_passes: int
    oldest_pending: datetime | None
    registrations: int
    alarm: str | None


def stats(session: Session, clock: Clock, channel: str = CHANNEL) -> Stats:
    today = clock.now().date()
    totals: dict[str, int] = {}
    daily: dict[str, int] = {}
    for day, outcome, n in session.execute(
        select(PushCounter.day, PushCounter.outcome, PushCounter.count).where(
            PushCounter.channel == channel
        )
    ):
        totals[outcome] = totals.get(outcome, 0) + n
        if day == today:
            daily[outcome] = daily.get(outcome, 0) + n
    pending, oldest = session.execute(
        select(func.count(), func.min(WalletPass.updated_at)).where(
            WalletPass.version > WalletPass.apns_delivered_version
        )
    ).one()
    alarm = open_alarm(session, channel)
    return Stats(
        counters=totals,
        today=daily,
        pending_passes=int(pending),
        oldest_pending=oldest,
        registrations=int(session.scalar(select(func.count()).select_from(AppleRegistration)) or 0),
        alarm=f"{alarm.reason}: {alarm.message} (since {alarm.raised_at:%Y-%m-%d %H:%M} UTC)"
        if alarm
        else None,
    )
