"""Tables of the push pipeline: delivery counters, operator alarms, wallet app events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class PushCounter(Base):
    """How many pushes ended how, per day and channel (apns, google)."""

    __tablename__ = "push_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (UniqueConstraint("day", "channel", "outcome"),)


class PushAlarm(Base):
    """A channel stopped because of a configuration error (e.g. APNs 403 BadCertificate).

    While an alarm is open nothing is sent on that channel; changes keep piling up
    in the outbox and go out once an operator fixes the cause and clears the alarm.
    """

    __tablename__ = "push_alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WalletAppEvent(Base):
    """A card arrived in or left a wallet app (app.services.wallet_events).

    ``wallet_app`` is one of app.push.wallet_apps.APPS or ``google_wallet``; ``kind`` is
    ``install`` or ``removal``; ``reason`` says what told us (registered, unregistered,
    apns_pruned, relay_expired, relay_unknown, google_save, google_delete). Append-only:
    the history marketers count installs and removals per app from.
    """

    __tablename__ = "wallet_app_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    wallet_app: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    # Kept when the card goes: the history still counts what happened.
    pass_id: Mapped[int | None] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (Index("ix_wallet_app_events_at_app", "at", "wallet_app"),)
