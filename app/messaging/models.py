"""Tables of invites (a link to the card page sent by SMS or e-mail) and invite campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

CHANNELS = ("sms", "email")
SOURCES = ("site", "till", "import", "console")
STATUSES = ("queued", "sent", "failed")
CAMPAIGN_STATUSES = ("draft", "sending", "sent", "cancelled")


class InviteCampaign(Base):
    """A console campaign inviting a segment's members to install their card."""

    __tablename__ = "invite_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(8))
    segment: Mapped[dict[str, Any]] = mapped_column(JSON)
    daily_budget: Mapped[int] = mapped_column(Integer)  # messages per local day
    per_minute: Mapped[int] = mapped_column(Integer)  # throttle: messages per minute
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Who asked: the console (a segment), or a CSV import (its members, listed in
    # invite_campaign_members); the campaign's invites carry it as their source.
    source: Mapped[str] = mapped_column(String(8), default="console", server_default="console")
    # The gateway's quote before the start: recipients and cost in minor units.
    estimated_recipients: Mapped[int | None] = mapped_column(Integer)
    estimated_cost: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="channel_known"),
        CheckConstraint("status IN ('draft', 'sending', 'sent', 'cancelled')", name="status_known"),
        CheckConstraint("daily_budget > 0 AND per_minute > 0", name="limits_positive"),
        CheckConstraint("source IN ('console', 'import')", name="source_known"),
    )


class InviteCampaignMember(Base):
    """A member an import's invite campaign is for (the campaign invites these and no one
    else; a console campaign has none and invites its segment)."""

    __tablename__ = "invite_campaign_members"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("invite_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )


class Invite(Base):
    """One message with the card-page link to one member. Its ``token`` tags the link
    (``/c/<card>?i=<token>``) so the open is counted; it carries no personal data."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite_campaigns.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="queued")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not before (quiet hours, retries)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))  # the gateway's word, per recipient
    provider_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="channel_known"),
        CheckConstraint("source IN ('site', 'till', 'import', 'console')", name="source_known"),
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status_known"),
        Index("ix_invites_member_id_created_at", "member_id", "created_at"),
        Index("ix_invites_status_due_at", "status", "due_at"),
        Index("ix_invites_campaign_id", "campaign_id"),
        Index("ix_invites_program_id_created_at", "program_id", "created_at"),
    )
