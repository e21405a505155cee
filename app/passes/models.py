"""The wallet pass of a card: identity towards the wallets, and the update outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.loyalty.models import Card


class WalletPass(Base):
    """One per card. Its ``version`` is bumped whenever what the card shows changes;
    a channel whose delivered version is behind still owes the phones an update
    (the row is the outbox of the push pipeline)."""

    __tablename__ = "wallet_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), unique=True)
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    # Sent in every pass.json and compared in constant time; never changes.
    auth_token: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    apns_delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    google_delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    card: Mapped[Card] = relationship()
