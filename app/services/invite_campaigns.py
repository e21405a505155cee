"""Console invite campaigns: a segment's members get the install link by SMS or e-mail,
within a daily budget and a per-minute throttle, outside quiet hours (the program's
local time), one invite per member per N days, only with a marketing consent.

The campaign is quoted (recipients, the gateway's cost) before it starts. Once started,
the worker's minute tick (``tick``) creates the next slice of invites; each slice is
sent after its commit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.campaigns.segments import Segment, card_ids, to_json
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program
from app.messaging import rules
from app.messaging.models import CHANNELS, Invite, InviteCampaign, InviteCampaignMember
from app.messaging.sms import Sms, SmsProvider
from app.services import invites
from app.services.campaigns import outside_quiet_hours
from app.services.staff import audit
from app.services.wallet_stats import card_in_wallet
from app.staff.models import StaffUser

QUOTE_SAMPLE = 1000  # numbers priced by the gateway; a larger audience is extrapolated
MAX_PER_MINUTE = 6000
MAX_DAILY = 1_000_000


@dataclass(frozen=True)
class Draft:
    name: str
    channel: str
    segment: dict[str, Any]
    daily_budget: int
    per_minute: int


@dataclass(frozen=True)
class Quote:
    recipients: int
    cost_minor: int | None  # None: e-mail, or the gateway could not be asked
    refused: int = 0
    extrapolated: bool = False
    error: str | None = None


def check(draft: Draft) -> Segment:
    errors: dict[str, str] = {}
    try:
        segment = Segment.from_json(draft.segment)
    except ValidationError as exc:
        errors.update(exc.fields)
        segment = Segment()
    if not 1 <= len(draft.name.strip()) <= 120:
        errors["name"] = "is required (up to 120 characters)"
    if draft.channel not in CHANNELS:
        errors["channel"] = f"must be one of {', '.join(CHANNELS)}"
    if not 1 <= draft.daily_budget <= MAX_DAILY:
        errors["daily_budget"] = f"must be a whole number from 1 to {MAX_DAILY}"
    if not 1 <= draft.per_minute <= MAX_PER_MINUTE:
        errors["per_minute"] = f"must be a whole number from 1 to {MAX_PER_MINUTE}"
    if errors:
        raise ValidationError(errors)
    return segment


def recipients(
    program: Program,
    channel: str,
    segment: Segment,
    now: datetime,
    campaign_id: int | None = None,
    listed: bool = False,
) -> Select[int]:
    """Card ids the campaign may invite now: in the segment (and, when ``listed``, among
    the members listed for the campaign: an import's), with a marketing consent and an
    address for the channel, not invited within the program's interval (nor by this
    campaign ever)."""
    stmt = card_ids(program.id, segment, now, card_in_wallet).where(
        Member.marketing_consent.is_(True)
    )
    if channel == "email":
        stmt = stmt.where(Member.email.is_not(None), Member.email != "")
    since = now - timedelta(days=program.invite_interval_days)
    recent = select(Invite.id).where(Invite.member_id == Member.id, Invite.created_at >= since)
    stmt = stmt.where(~recent.exists())
    if campaign_id is not None:
        done = select(Invite.id).where(
            Invite.member_id == Member.id, Invite.campaign_id == campaign_id
        )
        stmt = stmt.where(~done.exists())
        if listed:
            mine = select(InviteCampaignMember.member_id).where(
                InviteCampaignMember.campaign_id == campaign_id,
                InviteCampaignMember.member_id == Member.id,
            )
            stmt = stmt.where(mine.exists())
    return stmt


def audience(
    session: Session, program: Program, draft: Draft, now: datetime, public_url: str
) -> tuple[int, list[Sms]]:
    """How many members the campaign would invite now, and a sample of the SMS they
    would get (for the gateway's quote)."""
    segment = check(draft)
    query = recipients(program, draft.channel, segment, now)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if draft.channel != "sms":
        return total, []
    sample = session.execute(
        select(Member.phone, Member.locale, Card.public_id)
        .join(Card, Card.member_id == Member.id)
        .where(Card.id.in_(query.limit(QUOTE_SAMPLE).scalar_subquery()))
    ).all()
    placeholder = invites.new_token()  # a token of the real length: the price counts characters
    return total, [
        Sms(
            phone,
            rules.sms_text(
                locale,
                program.brand_name,
                f"{public_url}/c/{public_id}?i={placeholder}",
                program.registration_bonus,
            ),
        )
        for phone, locale, public_id in sample
    ]


def price(sms: SmsProvider | None, total: int, sample: Sequence[Sms]) -> Quote:
    """The gateway's cost of the sample, scaled to the whole audience."""
    if sms is None or not sample:
        return Quote(total, None if sms is None or total else 0)
    cost = parts = refused = 0
    try:
        for start in range(0, len(sample), sms.batch):
            answer = sms.cost(sample[start : start + sms.batch])
            cost += answer.cost_minor
            parts += answer.parts
            refused += answer.refused
    except Exception as exc:
        return Quote(total, None, error=str(exc)[:200])
    scale = total / len(sample)
    return Quote(
        total,
        math.ceil(cost * scale),
        refused=math.ceil(refused * scale),
        extrapolated=total > len(sample),
    )


def create(
    session: Session,
    clock: Clock,
    program: Program,
    draft: Draft,
    quote: Quote,
    actor: StaffUser | str,
) -> InviteCampaign:
    """A draft campaign with its quote; nothing is sent until ``start``."""
    segment = check(draft)
    campaign = InviteCampaign(
        program_id=program.id,
        name=draft.name.strip(),
        channel=draft.channel,
        segment=to_json(segment),
        daily_budget=draft.daily_budget,
        per_minute=draft.per_minute,
        status="draft",
        estimated_recipients=quote.recipients,
        estimated_cost=quote.cost_minor,
        created_by=actor.email if isinstance(actor, StaffUser) else actor,
        created_at=clock.now(),
    )
    session.add(campaign)
    session.flush()
    audit(session, clock, actor, "invites.created", f"invite_campaign:{campaign.id}")
    return campaign


def start(
    session: Session, clock: Clock, campaign: InviteCampaign, actor: StaffUser | str
) -> datetime:
    """Start sending (from the next minute's tick); returns when sending begins: now,
    or the end of the program's quiet hours."""
    if campaign.status != "draft":
        raise ValidationError({"status": f"the campaign is {campaign.status}, not a draft"})
    now = clock.now()
    campaign.status, campaign.started_at = "sending", now
    audit(session, clock, actor, "invites.started", f"invite_campaign:{campaign.id}")
    program = session.get(Program, campaign.program_id)
    assert program is not None
    return outside_quiet_hours(program, now)


def cancel(
    session: Session, clock: Clock, campaign: InviteCampaign, actor: StaffUser | str
) -> None:
    if campaign.status in ("draft", "sending"):
        campaign.status, campaign.finished_at = "cancelled", clock.now()
        audit(session, clock, actor, "invites.cancelled", f"invite_campaign:{campaign.id}")


def local_midnight(program: Program, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(program.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def allowance(session: Session, campaign: InviteCampaign, program: Program, now: datetime) -> int:
    """Invites the campaign may create now: the throttle's room in the last minute and
    the budget's room in the program's local day."""

    def created_since(since: datetime) -> int:
        return int(
            session.scalar(
                select(func.count()).where(
                    Invite.campaign_id == campaign.id, Invite.created_at > since
                )
            )
            or 0
        )

    minute = campaign.per_minute - created_since(now - timedelta(minutes=1))
    today = campaign.daily_budget - int(
        session.scalar(
            select(func.count()).where(
                Invite.campaign_id == campaign.id,
                Invite.created_at >= local_midnight(program, now),
            )
        )
        or 0
    )
    return max(0, min(minute, today))


def tick(session: Session, clock: Clock, queue: invites.InviteQueue, campaign_id: int) -> int:
    """The next slice of a sending campaign; returns the invites created. Nothing during
    quiet hours; the campaign is finished once nobody is left to invite."""
    campaign = session.scalar(
        select(InviteCampaign).where(InviteCampaign.id == campaign_id).with_for_update()
    )
    if campaign is None or campaign.status != "sending":
        return 0
    program = session.get(Program, campaign.program_id)
    assert program is not None
    now = clock.now()
    if outside_quiet_hours(program, now) != now:
        return 0
    room = allowance(session, campaign, program, now)
    if room == 0:
        return 0
    query = recipients(
        program,
        campaign.channel,
        Segment.from_json(campaign.segment),
        now,
        campaign.id,
        listed=campaign.source == "import",
    )
    chosen = list(session.scalars(query.order_by(Card.id).limit(room)))
    cards = session.scalars(select(Card).where(Card.id.in_(chosen)).order_by(Card.id)).all()
    created = []
    for card in cards:
        invite = Invite(
            token=invites.new_token(),
            program_id=program.id,
            member_id=card.member_id,
            card_id=card.id,
            campaign_id=campaign.id,
            channel=campaign.channel,
            source=campaign.source,
            status="queued",
            due_at=now,
            attempts=0,
            created_at=now,
        )
        session.add(invite)
        created.append(invite)
    session.flush()
    invites.enqueue_after_commit(session, queue, [i.id for i in created])
    if len(created) < room:
        campaign.status, campaign.finished_at = "sent", now
    return len(created)


def sending(session: Session) -> list[int]:
    return list(
        session.scalars(select(InviteCampaign.id).where(InviteCampaign.status == "sending"))
    )


@dataclass(frozen=True)
class Progress:
    queued: int
    sent: int
    failed: int
    opened: int


def progress(session: Session, campaign_id: int) -> Progress:
    counts = dict(
        session.execute(
            select(Invite.status, func.count())
            .where(Invite.campaign_id == campaign_id)
            .group_by(Invite.status)
        ).all()
    )
    opened = session.scalar(
        select(func.count()).where(Invite.campaign_id == campaign_id, Invite.opened_at.is_not(None))
    )
    return Progress(
        int(counts.get("queued", 0)),
        int(counts.get("sent", 0)),
        int(counts.get("failed", 0)),
        int(opened or 0),
    )


def of_program(session: Session, program: Program, campaign_id: int) -> InviteCampaign | None:
    """The program's invite campaign of that id (None: unknown, or another program's)."""
    campaign = session.get(InviteCampaign, campaign_id)
    return campaign if campaign is not None and campaign.program_id == program.id else None


def latest(session: Session, program: Program, limit: int = 50) -> list[InviteCampaign]:
    """The program's newest invite campaigns first."""
    return list(
        session.scalars(
            select(InviteCampaign)
            .where(InviteCampaign.program_id == program.id)
            .order_by(InviteCampaign.id.desc())
            .limit(limit)
        )
    )
