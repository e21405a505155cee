"""Tables of campaigns and their targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled", "active", "stopped")
TRIGGERS = ("welcome", "birthday", "win_back")


class Campaign(Base):
    """An offer sent to a segment through the cards on phones, with a random holdout."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    offer_en: Mapped[str] = mapped_column(String(200))
    offer_ru: Mapped[str] = mapped_column(String(200))
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    bonus_days: Mapped[int | None] = mapped_column(Integer)
    # Shown instead of the offer when it names the member's size and theirs is unknown.
    offer_fallback_en: Mapped[str | None] = mapped_column(String(200))
    offer_fallback_ru: Mapped[str | None] = mapped_column(String(200))
    # Whose sizes ``{size}`` reads: lines of this category (None: all lines).
    size_category: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[dict[str, Any]] = mapped_column(JSON)
    holdout_bp: Mapped[int] = mapped_column(Integer, default=1000)  # 10 %
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Triggered campaigns run card by card when their moment comes (status "active"):
    # welcome after the card is installed, birthday, win-back on entering "at risk".
    trigger: Mapped[str | None] = mapped_column(String(16))
    # A birthday trigger's day relative to the birthday: -3 = three days before.
    trigger_days: Mapped[int | None] = mapped_column(Integer)
    # After this moment the offer leaves the cards that still show it (the minute's job
    # clears it and pushes; offers_cleared_at records that it ran).
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offers_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the worker gave up after its retries (the status is then "cancelled").
    failure_reason: Mapped[str | None] = mapped_column(String(300))

    @property
    def state(self) -> str:
        """The status as people read it: "failed" for a campaign the worker gave up on."""
        return "failed" if self.failure_reason else self.status

    __table_args__ = (
        CheckConstraint("holdout_bp >= 0 AND holdout_bp <= 5000", name="holdout_in_range"),
        CheckConstraint("bonus_points >= 0", name="bonus_not_negative"),
        CheckConstraint(
            "status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled', 'active', 'stopped')",
            name="status_known",
        ),
        CheckConstraint(
            "trigger IS NULL OR trigger IN ('welcome', 'birthday', 'win_back')",
            name="trigger_known",
        ),
    )


class CampaignTarget(Base):
    """A card the campaign chose: sent the offer, or kept back as holdout (gets nothing)."""

    __tablename__ = "campaign_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    holdout: Mapped[bool] = mapped_column(Boolean)
    # When the card was chosen (targets and holdout alike): its results count from here.
    targeted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which time a trigger chose the card (the birthday's year; 0 otherwise): rows are
    # kept, one per card per occurrence.
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when the card's offer was applied (the pass then waits in the push outbox).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skipped: Mapped[str | None] = mapped_column(String(32))  # e.g. "frequency_cap"
    pass_version: Mapped[int | None] = mapped_column(Integer)
    # What APNs answered for this card's devices after the offer (summed over devices).
    pushes_accepted: Mapped[int] = mapped_column(Integer, default=0)
    pushes_failed: Mapped[int] = mapped_column(Integer, default=0)
    pushes_pruned: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("campaign_id", "card_id", "occurrence"),)


class SimulatedEffect(Base):
    """The true effect `walletpass simulate` gave a campaign it made up: what the
    campaign report's estimate should find (extra revenue per targeted card)."""

    __tablename__ = "simulated_effects"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    uplift_per_card: Mapped[float] = mapped_column(Float)
    response_rate: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
