"""Tables of the push pipeline: delivery counters and operator alarms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String, Text, UniqueConstraint
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
