"""Tables of the till."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigMoney, UTCDateTime
from app.loyalty.models import Card, Program, Store


class Terminal(Base):
    """A till (POS software or a cashier's phone) allowed to use the POS API.

    Only a hash of its key is stored; the key itself is shown once when created.
    """

    __tablename__ = "terminals"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    program: Mapped[Program] = relationship()
    store: Mapped[Store | None] = relationship()

    __table_args__ = (UniqueConstraint("program_id", "name"),)


class TerminalPairing(Base):
    """A short-lived, one-time code an admin shows as a QR code: the cashier page that
    redeems it becomes a till of ``store_id`` and receives the new terminal's key. Only a
    hash of the code is kept; ``terminal_id`` is the till it created."""

    __tablename__ = "terminal_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id", ondelete="SET NULL"))

    store: Mapped[Store] = relationship()


class Receipt(Base):
    """A purchase at a till, with or without a card (both feed the analytics).

    Amounts are minor units: ``amount`` before discount, ``discount_amount``,
    points redeemed (worth ``points_redeemed * point_value``), and ``amount_due``,
    the money the shopper paid.
    """

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    receipt_id: Mapped[str] = mapped_column(String(64))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), index=True)
    amount: Mapped[int] = mapped_column(BigMoney)
    discount_bp: Mapped[int] = mapped_column(Integer)
    discount_amount: Mapped[int] = mapped_column(BigMoney)
    points_redeemed: Mapped[int] = mapped_column(BigMoney)
    point_value_minor: Mapped[int] = mapped_column(Integer)
    points_earned: Mapped[int] = mapped_column(BigMoney)
    amount_due: Mapped[int] = mapped_column(BigMoney)
    balance_after: Mapped[int | None] = mapped_column(BigMoney)
    lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Hash of the request body: a replay with another body is a conflict, not a replay.
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    card: Mapped[Card | None] = relationship()

    __table_args__ = (
        UniqueConstraint("terminal_id", "receipt_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_due >= 0", name="amount_due_not_negative"),
        CheckConstraint("points_redeemed >= 0 AND points_earned >= 0", name="points_not_negative"),
    )


class ReceiptLine(Base):
    """A line of a card holder's receipt, kept as a row (the receipt's ``lines`` JSON is
    the record) so segments filter on what people buy in SQL, through indexes: category,
    size or SKU first, then time and card, so "bought C within N days" reads only the
    matching lines; card first for one card's history (its most frequent size)."""

    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_pk: Mapped[int] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the receipt's
    sku: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_receipt_lines_category", "category", "created_at", "card_id"),
        Index("ix_receipt_lines_size", "size", "created_at", "card_id"),
        Index("ix_receipt_lines_sku", "sku", "created_at", "card_id"),
        Index("ix_receipt_lines_card", "card_id", "category", "size"),
        Index("ix_receipt_lines_receipt_pk", "receipt_pk"),
    )


class Refund(Base):
    """Goods of a receipt brought back. Earned points go back proportionally, and
    redeemed points come back to the shopper proportionally."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_pk: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    refund_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigMoney)
    money_back: Mapped[int] = mapped_column(BigMoney)
    points_returned: Mapped[int] = mapped_column(BigMoney)
    points_taken_back: Mapped[int] = mapped_column(BigMoney)
    # Earned points the shopper had already spent, so they could not be taken back.
    points_shortfall: Mapped[int] = mapped_column(BigMoney, default=0)
    balance_after: Mapped[int | None] = mapped_column(BigMoney)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    receipt: Mapped[Receipt] = relationship()

    __table_args__ = (
        UniqueConstraint("terminal_id", "refund_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )
