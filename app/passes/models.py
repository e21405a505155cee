"""The wallet pass of a card: identity towards the wallets, and the update outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.loyalty.models import Card


class WalletPass(Base):
    """One per card. Its ``version`` is bumped whenever what the card shows changes;
    a channel whose delivered version is behind still owes the phones an update
    (the row is the outbox of the push pipeline)."""

    __tablename__ = "wallet_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One live pass per card (the partial unique index below); a replaced card keeps its
    # old, voided passes so the phones holding them learn they are void.
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    # Sent in every pass.json and compared in constant time; never changes.
    auth_token: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whole seconds since the epoch, strictly increasing per pass: what Last-Modified
    # and If-Modified-Since compare (HTTP dates have second precision, so two changes
    # within one second must still get different values).
    last_modified: Mapped[int] = mapped_column(BigInteger, index=True)
    # The version every PassKit push channel (APNs and the Android apps' relays) has
    # delivered to every registered device; the name predates the relays.
    apns_delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    google_delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the card was replaced (app.services.card_care.replace_card): this pass
    # shows the old number, voided; the till refuses that number with card_replaced.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_number: Mapped[str | None] = mapped_column(String(20), index=True)

    card: Mapped[Card] = relationship()

    __table_args__ = (
        # Every pass of a card, voided ones too (erasure, Google messages, the till's
        # rotating-code check): the partial index below serves only live-pass queries.
        Index("ix_wallet_passes_card_id", "card_id"),
        Index(
            "uq_wallet_passes_live_card_id",
            "card_id",
            unique=True,
            sqlite_where=text("voided_at IS NULL"),
            postgresql_where=text("voided_at IS NULL"),
        ),
    )


# The pass a card shows now (not one voided by a replacement), for joins on card_id.
LIVE_PASS = WalletPass.voided_at.is_(None)


class PassRenderFailure(Base):
    """A pass whose content could not be rendered, and why. Delivery holds the pass on
    every channel until ``retry_at`` (backoff doubling per failure, capped); a render
    that succeeds deletes the row."""

    __tablename__ = "pass_render_failures"

    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PassRendering(Base):
    """A pass signed ahead, by the worker, for the version it is about to push: the fetch
    each phone makes after the push then reads it instead of rendering and signing. Only
    the pass's own files are kept (~4 KB; the template's images are added when served).
    Served only while the pass's ``last_modified`` and the signing certificate are
    still the ones it was made for; pruned by the daily job after a day."""

    __tablename__ = "pass_renderings"

    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), primary_key=True
    )
    last_modified: Mapped[int] = mapped_column(BigInteger)
    signer: Mapped[str] = mapped_column(String(64))
    image_set: Mapped[str] = mapped_column(Text)
    files: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AppleDevice(Base):
    """A wallet app on a device (Apple Wallet on an iPhone or Watch, or an Android app
    that reads .pkpass files) registered for updates of our passes."""

    __tablename__ = "apple_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[str] = mapped_column(String(128), unique=True)
    push_token: Mapped[str] = mapped_column(String(512))
    # app.push.wallet_apps.APPS: decides which push channel wakes this device.
    wallet_app: Mapped[str] = mapped_column(
        String(20), default="apple_wallet", server_default="apple_wallet", index=True
    )
    # PassWallet sends the relay to notify with each registration (checked URL).
    push_service_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppleRegistration(Base):
    """A device asks to be told about changes to one pass."""

    __tablename__ = "apple_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("apple_devices.id", ondelete="CASCADE"))
    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The pass version this device has a final answer for, written only while other
    # devices of the pass are still owed (a pass delivered everywhere moves
    # WalletPass.apns_delivered_version instead): a retry skips the devices already told.
    delivered_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (UniqueConstraint("device_id", "pass_id"),)


class AppleDeviceLog(Base):
    """A message Wallet posted to /v1/log, with the reason we read from it."""

    __tablename__ = "apple_device_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    serial_number: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


class GoogleObject(Base):
    """The Google Wallet object of a pass: inserted over REST before the first save link."""

    __tablename__ = "google_objects"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), unique=True
    )
    object_id: Mapped[str] = mapped_column(String(200), unique=True)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GoogleCallbackNonce(Base):
    """Nonces of verified save/delete callbacks: Google may deliver one twice."""

    __tablename__ = "google_callback_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GoogleRootKeys(Base):
    """Google's callback signing keys as last fetched from ``source_url`` by the worker,
    kept until ``expires_at`` (the response's Cache-Control max-age); web processes
    verify callbacks with them and never fetch them."""

    __tablename__ = "google_root_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_url: Mapped[str] = mapped_column(String(500), unique=True)
    body: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GoogleMessage(Base):
    """A campaign text owed to a Google card (``addMessage``). At most three a day per pass
    may notify (TEXT_AND_NOTIFY); beyond that it goes in silently (TEXT)."""

    __tablename__ = "google_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))  # e.g. "campaign-12": one message per key
    header_en: Mapped[str] = mapped_column(String(200))
    header_ru: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(String(500))
    body_ru: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    notified: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (UniqueConstraint("pass_id", "key"),)
