"""Tables of the loyalty core."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.db import Base, BigMoney, UTCDateTime
from app.loyalty.rules import fold


class Program(Base):
    """One brand's loyalty program: its rules and the look of its card."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    brand_name: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(40))
    default_locale: Mapped[str] = mapped_column(String(2), default="ru")
    phone_region: Mapped[str] = mapped_column(String(2), default="RU")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    background_color: Mapped[str] = mapped_column(String(7))
    foreground_color: Mapped[str] = mapped_column(String(7))
    label_color: Mapped[str] = mapped_column(String(7))
    registration_bonus: Mapped[int] = mapped_column(Integer, default=0)
    registration_bonus_days: Mapped[int | None] = mapped_column(Integer)
    # When the install bonus is paid: "on_install" (the first registration or Google save)
    # or "on_first_purchase" (the install is recorded, the points come with the first
    # purchase at a till, so a script registering made-up devices gets nothing). New
    # programs start with the second; see app.services.installs.
    install_bonus_when: Mapped[str] = mapped_column(String(20), default="on_first_purchase")
    birthday_bonus: Mapped[int] = mapped_column(Integer, default=0)
    birthday_bonus_days: Mapped[int | None] = mapped_column(Integer)
    # Basis points (1/100 of a percent) keep rates exact: 500 = 5 %.
    earn_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    max_redeem_share_bp: Mapped[int] = mapped_column(Integer, default=0)
    points_validity_days: Mapped[int | None] = mapped_column(Integer)
    # What one point is worth at the till, in minor units (100 = one rouble a point).
    point_value_minor: Mapped[int] = mapped_column(Integer, default=100)
    # Lifecycle thresholds (days): see app.analytics.lifecycle.
    newcomer_days: Mapped[int] = mapped_column(Integer, default=60)
    at_risk_after_days: Mapped[int] = mapped_column(Integer, default=90)
    lost_after_days: Mapped[int] = mapped_column(Integer, default=180)
    # Campaign delivery rules: no offers at night (local hours), one offer per card per N days.
    quiet_start_hour: Mapped[int] = mapped_column(Integer, default=21)
    quiet_end_hour: Mapped[int] = mapped_column(Integer, default=9)
    frequency_cap_days: Mapped[int] = mapped_column(Integer, default=7)
    # Loyal buyers (KPIs): at least this many purchases within this many days.
    loyal_min_purchases: Mapped[int] = mapped_column(Integer, default=4)
    loyal_window_days: Mapped[int] = mapped_column(Integer, default=365)
    # Install invites: send the card link by SMS/e-mail right after enrollment (site, till);
    # at most one invite per member per N days.
    invite_on_enroll: Mapped[bool] = mapped_column(Boolean, default=False)
    invite_interval_days: Mapped[int] = mapped_column(Integer, default=30)
    # Google cards show a code that changes every 30 s (screenshots stop working).
    rotating_barcode: Mapped[bool] = mapped_column(Boolean, default=False)
    # The program's own card labels and back-side texts over its template's (see
    # app.passes.templates.with_texts).
    card_texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Texts edited in the console but not published yet, same shape; None = no draft,
    # {} = a draft that goes back to the template's texts (see app.services.card_drafts).
    card_texts_draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Keys of the Android .pkpass apps the card page offers, in order (see
    # app.passes.install_links); None = the default order.
    android_wallet_apps: Mapped[list[str] | None] = mapped_column(JSON)
    offer_en: Mapped[str | None] = mapped_column(String(200))
    offer_ru: Mapped[str | None] = mapped_column(String(200))
    terms_url: Mapped[str | None] = mapped_column(String(300))
    website_url: Mapped[str | None] = mapped_column(String(300))
    support_phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when an admin archives the program: enrollment closes and the console shows it
    # read-only (see app.services.program_admin).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A new random value with every change that all cards of the program show (stores,
    # published texts and images): the key of the per-process cache of those
    # (app.services.cards). Random, not counted, so that two databases (or a rolled-back
    # test) never share a key for different content.
    pass_revision: Mapped[int] = mapped_column(
        BigInteger, default=lambda: secrets.randbits(62), server_default="0"
    )

    tiers: Mapped[list[Tier]] = relationship(back_populates="program", order_by="Tier.discount_bp")
    stores: Mapped[list[Store]] = relationship(back_populates="program", order_by="Store.id")
    images: Mapped[list[ProgramImage]] = relationship(order_by="ProgramImage.name")
    image_drafts: Mapped[list[ProgramImageDraft]] = relationship(order_by="ProgramImageDraft.name")

    __table_args__ = (
        CheckConstraint("registration_bonus >= 0", name="registration_bonus_not_negative"),
        CheckConstraint("birthday_bonus >= 0", name="birthday_bonus_not_negative"),
        CheckConstraint(
            "install_bonus_when IN ('on_install', 'on_first_purchase')",
            name="install_bonus_when_known",
        ),
        CheckConstraint("point_value_minor > 0", name="point_value_positive"),
        CheckConstraint(
            "newcomer_days > 0 AND at_risk_after_days > 0 AND lost_after_days > at_risk_after_days",
            name="lifecycle_thresholds_ordered",
        ),
        CheckConstraint(
            "max_redeem_share_bp >= 0 AND max_redeem_share_bp <= 10000",
            name="redeem_share_in_range",
        ),
    )

    def offer(self, locale: str) -> str | None:
        return self.offer_ru if locale == "ru" else self.offer_en

    @property
    def default_tier(self) -> Tier:
        for tier in self.tiers:
            if tier.is_default:
                return tier
        raise LookupError(f"program {self.slug} has no default tier")


class Tier(Base):
    """A discount level: the permanent discount a card holder gets at the till."""

    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    name_ru: Mapped[str] = mapped_column(String(60))
    discount_bp: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Staff-assigned tiers (e.g. "large family") need a reason from a person.
    staff_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Granted by spending: a card whose purchases (amount paid, minor units) reach this
    # moves up to the tier (app.services.tiers). None for the default and staff tiers.
    spend_threshold: Mapped[int | None] = mapped_column(BigMoney)

    program: Mapped[Program] = relationship(back_populates="tiers")

    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount_in_range"),
    )

    def name(self, locale: str) -> str:
        return self.name_ru if locale == "ru" else self.name_en


class Store(Base):
    """A physical store: its tills record receipts there, and its location (when given)
    makes the card show up on the lock screen nearby."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    # The store's own time zone when it differs from the program's (None: the program's).
    timezone: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    relevant_text_en: Mapped[str | None] = mapped_column(String(100))
    relevant_text_ru: Mapped[str | None] = mapped_column(String(100))

    program: Mapped[Program] = relationship(back_populates="stores")

    __table_args__ = (UniqueConstraint("program_id", "code"),)


class Member(Base):
    """A shopper enrolled in one program. Personal data lives here and nowhere else."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))  # E.164
    name: Mapped[str] = mapped_column(String(100))
    # The name case-folded (ё as е) for search: SQLite's lower() knows only ASCII. Kept
    # in step with ``name`` by ``_fold_name`` below.
    name_folded: Mapped[str] = mapped_column(String(100), default="", server_default="")
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str] = mapped_column(String(2))
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the program's terms
    # How the program consent came (app.services.consents.SOURCES) and which version of
    # its text was shown ("import": collected elsewhere, no text of ours).
    consent_source: Mapped[str | None] = mapped_column(String(16))
    consent_text: Mapped[str | None] = mapped_column(String(40))
    # Advertising consent (38-FZ art. 18), apart from the program's: when it was given or
    # withdrawn, how (site, till, import, console, unsubscribe) and which text version.
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    marketing_consent_source: Mapped[str | None] = mapped_column(String(16))
    marketing_consent_text: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    program: Mapped[Program] = relationship()
    card: Mapped[Card] = relationship(back_populates="member", uselist=False)
    # The lifecycle stage last computed, and since when (transitions trigger campaigns).
    stage: Mapped[str | None] = mapped_column(String(16))
    stage_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the member's personal data was erased (app.services.erasure): the row
    # stays, anonymised, so receipts, ledger and KPIs keep adding up.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("program_id", "phone"),
        Index("ix_members_program_created", "program_id", "created_at"),  # cohort counts
    )

    @validates("name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.name_folded = fold(value or "")
        return value


class Card(Base):
    """The loyalty card: what the till scans and what the wallet pass shows."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random id used in links (the card page); a capability, never sequential.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    number: Mapped[str] = mapped_column(String(20), unique=True)
    # Random part of the barcode: the number alone is not enough to use a card.
    barcode_secret: Mapped[str] = mapped_column(String(32))
    # Key of the rotating code on a Google card (programs with rotating_barcode).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"))
    balance: Mapped[int] = mapped_column(BigMoney, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    offer_en: Mapped[str | None] = mapped_column(String(200))
    offer_ru: Mapped[str | None] = mapped_column(String(200))
    # The campaign whose offer the card shows (its end date takes the offer off again).
    offer_campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    tier_reason: Mapped[str | None] = mapped_column(Text)
    # A duplicate merged into another card (app.services.card_care.merge_members).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    # First time the card was added to each wallet (registration / save callback).
    apple_installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    google_installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    program: Mapped[Program] = relationship()
    member: Mapped[Member] = relationship(back_populates="card")
    tier: Mapped[Tier] = relationship()
    merged_into: Mapped[Card | None] = relationship(remote_side="Card.id")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'blocked', 'erased')", name="status_known"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    def offer(self, locale: str) -> str | None:
        own = self.offer_ru if locale == "ru" else self.offer_en
        return own if own is not None else self.program.offer(locale)


class LedgerEntry(Base):
    """One movement of points. Append-only: the balance is the sum of ``points``.

    Positive entries are lots: ``remaining`` is what is left of them to spend or
    expire, oldest first. ``idempotency_key`` makes an award or a till operation
    happen at most once, whatever retries and races do.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigMoney)
    remaining: Mapped[int] = mapped_column(BigMoney, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "kind IN ('bonus', 'earn', 'burn', 'expire', 'adjust', 'refund')", name="kind_known"
        ),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint(
            "(points > 0 AND remaining <= points) OR (points <= 0 AND remaining = 0)",
            name="remaining_within_lot",
        ),
    )


class InstallBonusClaim(Base):
    """A phone number that has had the install bonus of a program, as a keyed hash
    (HMAC-SHA256 with a key derived from the secret key, app.services.phone_keys): the
    bonus is paid at most once per number, ever, also after the member was erased and
    enrolled again. The unique key decides when two cards of one number race."""

    __tablename__ = "install_bonus_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    phone_hash: Mapped[str] = mapped_column(String(64))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("program_id", "phone_hash"),)


class StageTransition(Base):
    """A member moved from one lifecycle stage to another (win-back and welcome triggers)."""

    __tablename__ = "stage_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TotpUse(Base):
    """A rotating code spent at the till: the same code cannot pay twice."""

    __tablename__ = "totp_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("card_id", "step"),)


class ProgramImage(Base):
    """A program's own card image (logo, strip, icon at @1x/@2x/@3x) over its template's."""

    __tablename__ = "program_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))  # a template image name, e.g. "logo@2x.png"
    png: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("program_id", "name"),)


class ProgramImageDraft(Base):
    """An image change waiting to be published: a new picture, or ``png`` None for
    "back to the template's". Phones see it only once the draft is published."""

    __tablename__ = "program_image_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    png: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("program_id", "name"),)
