"""Install invites: a message with the card-page link, sent by SMS or e-mail.

Invites are rows first (``queued``); the entry point's commit enqueues ``send_invites``
with their ids, and the worker composes, sends and records per recipient (see
app.worker.invites). A minute-old queued invite is enqueued again by the sweep, so a
lost enqueue or a gateway outage only delays it.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program
from app.messaging import rules
from app.messaging.models import Invite
from app.services.staff import audit
from app.staff.models import StaffUser

# What the till and the API answer about an invite after an enrollment.
SENT, OFF, NOT_REQUESTED = "sent", "off", "not_requested"


class InviteQueue(Protocol):
    def send_invites(self, invite_ids: Sequence[int]) -> int: ...


def new_token() -> str:
    """The opaque tag of the link (``?i=``): random, no personal data."""
    return secrets.token_urlsafe(12)


def add(
    session: Session,
    clock: Clock,
    queue: InviteQueue,
    card: Card,
    channel: str,
    source: str,
    *,
    due_at: datetime | None = None,
    campaign_id: int | None = None,
) -> Invite:
    """One queued invite, enqueued for sending after the commit."""
    now = clock.now()
    invite = Invite(
        token=new_token(),
        program_id=card.program_id,
        member_id=card.member_id,
        card_id=card.id,
        campaign_id=campaign_id,
        channel=channel,
        source=source,
        status="queued",
        due_at=due_at or now,
        attempts=0,
        created_at=now,
    )
    session.add(invite)
    session.flush()
    enqueue_after_commit(session, queue, [invite.id])
    return invite


def enqueue_after_commit(session: Session, queue: InviteQueue, ids: Sequence[int]) -> None:
    if ids:
        after_commit(session, functools.partial(queue.send_invites, list(ids)))


def channel_for(member: Member, channels_on: Collection[str]) -> str | None:
    """SMS when it is on (every member has a phone), else e-mail when the member gave one."""
    if "sms" in channels_on:
        return "sms"
    if "email" in channels_on and member.email:
        return "email"
    return None


def after_enrollment(
    session: Session,
    clock: Clock,
    queue: InviteQueue,
    card: Card,
    source: str,
    channels_on: Collection[str],
    requested: bool | None = None,
) -> str:
    """The install link right after an enrollment (site or till): a service message the
    shopper asked for by enrolling, sent at once. ``requested`` None follows the
    program's option. Returns sent, off (no channel) or not_requested."""
    program = session.get(Program, card.program_id)
    assert program is not None
    if not (program.invite_on_enroll if requested is None else requested):
        return NOT_REQUESTED
    member = session.get(Member, card.member_id)
    assert member is not None
    channel = channel_for(member, channels_on)
    if channel is None:
        return OFF
    add(session, clock, queue, card, channel, source)
    return SENT


def record_open(session: Session, clock: Clock, card: Card, token: str) -> bool:
    """The card page was opened from an invite's link; the first open counts. A token
    of another card (or none) is ignored."""
    if not token or len(token) > 32:
        return False
    result = session.execute(
        update(Invite)
        .where(Invite.token == token, Invite.card_id == card.id, Invite.opened_at.is_(None))
        .values(opened_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def unsubscribe(session: Session, clock: Clock, token: str) -> bool:
    """Withdraw the marketing consent of the member an invite went to (the e-mail's
    List-Unsubscribe link). Returns False for an unknown token."""
    member_id = session.scalar(select(Invite.member_id).where(Invite.token == token))
    if member_id is None:
        return False
    member = session.get(Member, member_id)
    assert member is not None
    if member.marketing_consent or member.marketing_consent_source != "unsubscribe":
        member.marketing_consent = False
        member.marketing_consent_at = clock.now()
        member.marketing_consent_source = "unsubscribe"
        member.marketing_consent_text = None
    session.flush()
    return True


@dataclass(frozen=True)
class Outgoing:
    """One invite ready to go out (composed in a read transaction, sent outside it)."""

    invite_id: int
    channel: str
    to: str
    locale: str
    brand: str
    name: str
    link: str
    unsubscribe: str
    bonus: int


LEASE = timedelta(minutes=10)


def claim(session: Session, now: datetime, invite_ids: Sequence[int]) -> list[int]:
    """Take the queued, due invites among ``invite_ids`` for sending: their due time moves
    a lease ahead, so a sweep or a second task does not send them again meanwhile (a
    worker that dies leaves them to the sweep once the lease ends)."""
    ids = list(
        session.scalars(
            select(Invite.id)
            .where(Invite.id.in_(list(invite_ids)), Invite.status == "queued", Invite.due_at <= now)
            .order_by(Invite.id)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(Invite)
            .where(Invite.id.in_(ids))
            .values(due_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    return ids


def compose(session: Session, invite_ids: Sequence[int], public_url: str) -> list[Outgoing]:
    """The queued invites among ``invite_ids`` with what each message needs."""
    rows = session.execute(
        select(Invite, Member, Card.public_id, Program.brand_name, Program.registration_bonus)
        .join(Member, Member.id == Invite.member_id)
        .join(Card, Card.id == Invite.card_id)
        .join(Program, Program.id == Invite.program_id)
        .where(Invite.id.in_(list(invite_ids)), Invite.status == "queued")
        .order_by(Invite.id)
    ).all()
    out = []
    for invite, member, public_id, brand, bonus in rows:
        to = member.phone if invite.channel == "sms" else member.email
        if not to:
            continue
        out.append(
            Outgoing(
                invite_id=invite.id,
                channel=invite.channel,
                to=to,
                locale=member.locale,
                brand=brand,
                name=member.name,
                link=f"{public_url}/c/{public_id}?i={invite.token}",
                unsubscribe=f"{public_url}/u/{invite.token}",
                bonus=bonus,
            )
        )
    return out


@dataclass(frozen=True)
class Outcome:
    invite_id: int
    ok: bool
    provider_id: str | None = None
    error: str | None = None
    retry: bool = False  # the gateway did not take it: try again later


def record(session: Session, clock: Clock, outcomes: Sequence[Outcome]) -> None:
    """Store what the gateway answered for each recipient: sent, refused (failed, with
    its reason), or to be tried again with a growing delay."""
    now = clock.now()
    invites = {
        i.id: i
        for i in session.scalars(
            select(Invite).where(Invite.id.in_([o.invite_id for o in outcomes]))
        )
    }
    for o in outcomes:
        invite = invites.get(o.invite_id)
        if invite is None or invite.status != "queued":
            continue
        invite.attempts += 1
        invite.error = o.error[:200] if o.error else None
        if o.ok:
            invite.status, invite.sent_at, invite.provider_id = "sent", now, o.provider_id
        elif o.retry and invite.attempts < rules.MAX_ATTEMPTS:
            invite.due_at = now + rules.retry_delay(invite.attempts)
        else:
            invite.status, invite.due_at = "failed", now
    session.flush()


def owed(session: Session, now: datetime, age: timedelta = timedelta(minutes=1)) -> list[int]:
    """Queued invites due for over ``age``: their enqueue was lost or they wait a retry."""
    return list(
        session.scalars(
            select(Invite.id)
            .where(Invite.status == "queued", Invite.due_at <= now - age)
            .order_by(Invite.id)
            .limit(10_000)
        )
    )


def set_options(
    session: Session,
    clock: Clock,
    program: Program,
    on_enroll: bool,
    interval_days: object,
    actor: StaffUser | str,
) -> None:
    """The program's invite options: the link right after enrollment (site, till), and
    at most one invite per member per ``interval_days`` (1-365)."""
    days = interval_days
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days.strip())
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ValidationError({"invite_interval_days": "must be a whole number of days, 1-365"})
    program.invite_on_enroll = on_enroll
    program.invite_interval_days = days
    audit(
        session,
        clock,
        actor,
        "invites.options",
        program.slug,
        {"on_enroll": on_enroll, "interval_days": days},
    )
    session.flush()
