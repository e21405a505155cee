"""Counters of the sliding-window rate limits (one row per key and fixed window)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class RateLimitCounter(Base):
    """Hits of one key in one window. ``key`` is the bucket and a keyed hash of the
    subject (address, phone, account), never the subject itself; rows whose
    ``expires_at`` (epoch seconds) has passed no longer count and are deleted."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
