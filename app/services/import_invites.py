"""Install invites for the members of a CSV import (``members import --invite``).

An import that invites creates an invite campaign of source ``import`` listing the
members it created with a marketing consent, started at once (the dry run showed the
recipients and the gateway's cost). From there it is an ordinary invite campaign: the
worker's minute tick creates its slices within the daily budget and the throttle,
outside quiet hours, one invite per member per N days, each slice sent after its
commit; the console lists it and can cancel it. Imported members are new, so none has a
card in a wallet yet (the campaign's segment says ``wallet: none`` all the same).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import new_public_id
from app.loyalty.models import Program
from app.messaging import rules
from app.messaging.models import InviteCampaign, InviteCampaignMember
from app.messaging.sms import Sms, SmsProvider
from app.services import invite_campaigns, invites
from app.services.campaigns import outside_quiet_hours
from app.services.enrollment import Enrollment
from app.services.staff import audit
from app.staff.models import StaffUser

DAILY_BUDGET = 500
PER_MINUTE = 20


def channel(channels_on: Collection[str]) -> str | None:
    """SMS when it is on (every member has a phone), else e-mail, else None (off)."""
    if "sms" in channels_on:
        return "sms"
    return "email" if "email" in channels_on else None


def invitable(consenting: Sequence[Enrollment], channel: str) -> list[Enrollment]:
    """The rows the channel can reach: all of them by SMS, those with an e-mail by mail."""
    return [e for e in consenting if channel == "sms" or e.email]


def quote(
    sms: SmsProvider | None,
    program: Program,
    people: Sequence[Enrollment],
    channel: str,
    public_url: str,
) -> invite_campaigns.Quote:
    """The recipients and, for SMS, the gateway's price of their messages (a sample of
    up to QUOTE_SAMPLE priced, the rest extrapolated). The cards do not exist yet in a
    dry run: the link is priced with an identifier and a tag of the real length."""
    if channel != "sms":
        return invite_campaigns.Quote(len(people), None)
    sample = [
        Sms(
            e.phone,
            rules.sms_text(
                e.locale,
                program.brand_name,
                f"{public_url}/c/{new_public_id()}?i={invites.new_token()}",
                program.registration_bonus,
            ),
        )
        for e in people[: invite_campaigns.QUOTE_SAMPLE]
    ]
    return invite_campaigns.price(sms, len(people), sample)


def start(
    session: Session,
    clock: Clock,
    program: Program,
    channel: str,
    member_ids: Sequence[int],
    estimate: invite_campaigns.Quote,
    actor: StaffUser | str,
    *,
    daily_budget: int = DAILY_BUDGET,
    per_minute: int = PER_MINUTE,
) -> tuple[InviteCampaign, datetime]:
    """The import's invite campaign, sending from the next tick; returns it and when
    sending begins (now, or the end of the program's quiet hours)."""
    now = clock.now()
    draft = invite_campaigns.Draft(
        name=f"Import {now:%Y-%m-%d %H:%M}",
        channel=channel,
        segment={"wallet": "none"},
        daily_budget=daily_budget,
        per_minute=per_minute,
    )
    campaign = invite_campaigns.create(session, clock, program, draft, estimate, actor)
    campaign.source = "import"
    if member_ids:
        session.execute(
            insert(InviteCampaignMember),
            [{"campaign_id": campaign.id, "member_id": m} for m in member_ids],
        )
    invite_campaigns.start(session, clock, campaign, actor)
    audit(session, clock, actor, "invites.import", f"invite_campaign:{campaign.id}")
    session.flush()
    return campaign, outside_quiet_hours(program, now)
