"""Delivering pass changes over the PassKit push channels: what is owed, and the answers.

The worker calls ``pending`` in one transaction, sends on every channel (APNs, the
Android apps' relays) outside any transaction, then ``record`` in another. A pass's
delivered version moves only when every registered device on every channel has a final
answer, so a crash, a dead worker, a failed push or a switched-off channel leaves it
owed; devices already answered are remembered on their registration and skipped when
the sweeper sends the rest again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app import metrics
from app.campaigns.models import CampaignTarget
from app.clock import Clock
from app.db import after_commit, upsert
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.push.channels import APNS, CHANNEL_OF_APP
from app.push.models import PushAlarm, PushCounter
from app.push.rules import SendResult, decide
from app.push.wallet_apps import UNKNOWN
from app.services import wallet_counts, wallet_events

CHANNEL = APNS
ResultKey = tuple[str, str | None, str]  # (channel, relay URL or None, token)


@dataclass(frozen=True)
class Target:
    pass_id: int
    version: int
    registration_id: int
    device_id: int
    token: str
    registered_at: datetime
    wallet_app: str = "apple_wallet"
    url: str | None = None  # PassWallet's relay

    @property
    def channel(self) -> str | None:
        return CHANNEL_OF_APP.get(self.wallet_app)

    @property
    def key(self) -> ResultKey | None:
        channel = self.channel
        return None if channel is None else (channel, self.url, self.token)


@dataclass
class Owed:
    targets: list[Target]
    versions: dict[int, int]  # every owed pass -> the version being delivered

    @property
    def tokens(self) -> list[str]:
        """APNs tokens (kept for callers that push over APNs only)."""
        return list(dict.fromkeys(t.token for t in self.targets if t.channel == APNS))

    def by_channel(self) -> dict[str, dict[str | None, list[str]]]:
        """channel -> relay URL (None but for PassWallet) -> distinct tokens."""
        out: dict[str, dict[str | None, dict[str, None]]] = {}
        for t in self.targets:
            if t.channel is not None:
                out.setdefault(t.channel, {}).setdefault(t.url, {})[t.token] = None
        return {c: {u: list(tokens) for u, tokens in urls.items()} for c, urls in out.items()}


@dataclass
class Report:
    outcomes: Counter[str] = field(default_factory=Counter)
    by_channel: dict[str, Counter[str]] = field(default_factory=dict)
    pruned: int = 0
    delivered_passes: int = 0
    config_error: str | None = None  # APNs's
    config_errors: dict[str, str] = field(default_factory=dict)
    no_channel: int = 0  # devices of apps we cannot notify (they refresh by hand)


def _owed_registration() -> ColumnElement[bool]:
    return and_(
        AppleRegistration.pass_id == WalletPass.id,
        AppleRegistration.delivered_version < WalletPass.version,
    )


def pending(session: Session, pass_ids: Sequence[int]) -> Owed:
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
            AppleDevice.wallet_app,
            AppleDevice.push_service_url,
            AppleRegistration.delivered_version,
        )
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleRegistration.pass_id.in_(list(versions)))
    ).all()
    targets = [
        Target(pass_id, versions[pass_id], reg_id, dev_id, token, max(created, touched), app, url)
        for pass_id, reg_id, dev_id, token, created, touched, app, url, told in rows
        if told < versions[pass_id]
    ]
    return Owed(targets, versions)


def pending_apple(session: Session, pass_ids: Sequence[int]) -> Owed:
    return pending(session, pass_ids)


def record(
    session: Session, clock: Clock, owed: Owed, results: Mapping[ResultKey, SendResult]
) -> Report:
    """Apply the answers; a target without an answer (channel off, paused or stopped)
    keeps its pass owed."""
    report = Report()
    undone: set[int] = set()
    told: dict[int, list[int]] = {}  # version -> registrations with a final answer
    prune_regs: set[int] = set()
    prune_why: dict[str, set[int]] = {}  # removal reason -> registrations
    per_pass: dict[int, list[int]] = {}  # pass -> [accepted, failed, pruned]
    for target in owed.targets:
        key = target.key
        if key is None:  # no channel: nothing to send, the phone refreshes by hand
            report.no_channel += 1
            told.setdefault(target.version, []).append(target.registration_id)
            continue
        result = results.get(key)
        if result is None:
            undone.add(target.pass_id)
            continue
        if result.outcome == "config_error" and key[0] not in report.config_errors:
            report.config_errors[key[0]] = f"{result.status} {result.reason}"
        decision = decide(result, target.registered_at)
        tally = per_pass.setdefault(target.pass_id, [0, 0, 0])
        tally[2 if decision.prune else 0 if result.outcome == "accepted" else 1] += 1
        if decision.prune:
            prune_regs.add(target.registration_id)
            prune_why.setdefault(_removal_reason(key[0], result), set()).add(target.registration_id)
        if decision.done:
            told.setdefault(target.version, []).append(target.registration_id)
        else:
            undone.add(target.pass_id)
    for (channel, _, _), result in results.items():
        report.by_channel.setdefault(channel, Counter())[result.outcome] += 1
        report.outcomes[result.outcome] += 1
    report.config_error = report.config_errors.get(APNS)
    if prune_regs:
        for why, pruned in prune_why.items():
            wallet_events.record_removals(session, clock, pruned, why)
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
    if undone:  # remember who was told, so the retry skips them
        partial_regs = {t.registration_id for t in owed.targets if t.pass_id in undone}
        for version, regs in told.items():
            keep = [r for r in regs if r in partial_regs and r not in prune_regs]
            if keep:
                session.execute(
                    update(AppleRegistration)
                    .where(AppleRegistration.id.in_(keep))
                    .values(delivered_version=version)
                    .execution_options(synchronize_session=False)
                )
    _tally_campaigns(session, owed.versions, per_pass)
    day = clock.now().date()
    for channel, outcomes in report.by_channel.items():
        for outcome, n in outcomes.items():
            count(session, day, outcome, n, channel)
    if report.pruned:
        pruned_by: Counter[str] = Counter(
            t.channel for t in owed.targets if t.registration_id in prune_regs and t.channel
        )
        for channel, n in pruned_by.items():
            count(session, day, "pruned", n, channel)
    for channel, error in report.config_errors.items():
        who = "APNs refused our credentials" if channel == APNS else f"{channel} refused our key"
        raise_alarm(session, clock, "config_error", f"{who}: {error}", channel)
    return report


def _removal_reason(channel: str, result: SendResult) -> str:
    """How a pruned registration shows among the removals per wallet app."""
    if channel == APNS:
        return "apns_pruned"
    return "relay_expired" if "expired" in (result.reason or "").lower() else "relay_unknown"


def record_apple(
    session: Session, clock: Clock, owed: Owed, results: Mapping[str, SendResult]
) -> Report:
    """APNs answers keyed by token alone."""
    return record(session, clock, owed, {(APNS, None, t): r for t, r in results.items()})


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
    wallet_counts.unregistered(session, registration_ids)
    session.execute(delete(AppleRegistration).where(AppleRegistration.id.in_(registration_ids)))
    orphans = select(AppleRegistration.id).where(AppleRegistration.device_id == AppleDevice.id)
    session.execute(delete(AppleDevice).where(AppleDevice.id.in_(devices), ~orphans.exists()))
    return len(registration_ids)


def count(session: Session, day: date, outcome: str, n: int, channel: str = CHANNEL) -> None:
    """Add n to a daily counter (an upsert, safe with several workers), and to the
    process metrics once the transaction commits."""
    after_commit(session, partial(metrics.count_pushes, channel, {outcome: n}))
    stmt = upsert(session, PushCounter).values(day=day, channel=channel, outcome=outcome, count=n)
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


def stale(
    session: Session,
    clock: Clock,
    older_than: timedelta,
    off_apps: Collection[str] = (),
    limit: int = 100_000,
) -> list[int]:
    """Passes whose change has been owed to devices for longer than ``older_than``,
    except those owed only to apps whose channel is off or paused (the sweeper would
    otherwise enqueue them every minute for nothing)."""
    stmt = select(WalletPass.id).where(
        WalletPass.version > WalletPass.apns_delivered_version,
        WalletPass.updated_at <= clock.now() - older_than,
    )
    if off_apps:
        owed_to = (
            select(AppleRegistration.id)
            .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
            .where(_owed_registration())
        )
        stmt = stmt.where(
            exists(owed_to.where(AppleDevice.wallet_app.not_in(list(off_apps)))) | ~exists(owed_to)
        )
    return list(session.scalars(stmt.order_by(WalletPass.updated_at).limit(limit)))


def stale_apple(
    session: Session, clock: Clock, older_than: timedelta, limit: int = 100_000
) -> list[int]:
    return stale(session, clock, older_than, limit=limit)


def owed_by_app(session: Session) -> dict[str, int]:
    """Passes still owed to devices of each wallet app."""
    rows = session.execute(
        select(AppleDevice.wallet_app, func.count(func.distinct(AppleRegistration.pass_id)))
        .join(AppleRegistration, AppleRegistration.device_id == AppleDevice.id)
        .join(WalletPass, WalletPass.id == AppleRegistration.pass_id)
        .where(
            WalletPass.version > WalletPass.apns_delivered_version,
            AppleRegistration.delivered_version < WalletPass.version,
        )
        .group_by(AppleDevice.wallet_app)
    )
    return {app: int(n) for app, n in rows}


def unreachable_registrations(session: Session) -> int:
    """Registrations of apps we cannot name: no channel wakes them."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AppleRegistration)
            .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
            .where(AppleDevice.wallet_app == UNKNOWN)
        )
        or 0
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
