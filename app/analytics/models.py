"""Daily rollups of the receipts, so the dashboard sums days instead of receipts.

Days are the program's local dates (``date.toordinal()``), the dashboard's periods
start and end at local midnights. A store is keyed 0 for tills in no store. The rows
are kept by the till on each purchase and rebuilt from the receipts by
``walletpass analytics rebuild`` (app.analytics.rollups); reads use them only for a
program with a ``KpiRollupState`` row, which says they hold every receipt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigMoney, UTCDateTime


class KpiRollupState(Base):
    __tablename__ = "kpi_rollup_state"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The loyal rule KpiVisit.kth_day and KpiLoyalDay were written with (NULL: none yet).
    loyal_min_purchases: Mapped[int | None] = mapped_column(Integer)
    loyal_window_days: Mapped[int | None] = mapped_column(Integer)


class KpiDay(Base):
    """Receipts and money paid per day, store and with / without a card (additive)."""

    __tablename__ = "kpi_days"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    with_card: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    receipts: Mapped[int] = mapped_column(Integer)
    due: Mapped[int] = mapped_column(BigMoney)


class KpiVisit(Base):
    """A card's purchases at a store on a day (how many, money paid), with its two
    previous visits to that store, so the distinct buyers of days [S, E) are a count of
    rows: those whose previous visit is before S. The card bought twice or more when
    that row has n >= 2 or its next row follows a single purchase (prev_store_n == 1).
    The card's first row of a day (by first purchase) carries the same about all stores
    (day_n, prev_day, prev2_day, prev_day_n) for the program-wide buyers."""

    __tablename__ = "kpi_visits"

    card_id: Mapped[int] = mapped_column(
        ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True
    )
    store_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    n: Mapped[int] = mapped_column(Integer)
    due: Mapped[int] = mapped_column(BigMoney)  # the purchases' amount_due summed
    prev_store_day: Mapped[int | None] = mapped_column(Integer)
    prev2_store_day: Mapped[int | None] = mapped_column(Integer)
    prev_store_n: Mapped[int | None] = mapped_column(Integer)  # purchases at that visit
    day_first: Mapped[bool] = mapped_column(Boolean)
    day_n: Mapped[int] = mapped_column(Integer)  # on the day's first row, else 0
    prev_day: Mapped[int | None] = mapped_column(Integer)
    prev2_day: Mapped[int | None] = mapped_column(Integer)
    prev_day_n: Mapped[int | None] = mapped_column(Integer)
    # On the day's first row: the day of the card's k-th most recent purchase counting
    # this day's (k: the rule in KpiRollupState), NULL with fewer purchases or elsewhere.
    kth_day: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_kpi_visits_program_day", "program_id", "day"),
        Index("ix_kpi_visits_card_day", "card_id", "day"),
    )


class KpiCard(Base):
    """A card's first, second and last purchase instants (kept by the till): the cohort
    conversions, and the lifecycle stage of its member at any instant after the last."""

    __tablename__ = "kpi_cards"

    card_id: Mapped[int] = mapped_column(
        ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    second_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KpiStageDay(Base):
    """Members per lifecycle stage at the local midnight starting ``day`` (final once
    the midnight is past: purchases are recorded at the time they happen)."""

    __tablename__ = "kpi_stage_days"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    newcomer: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer)
    at_risk: Mapped[int] = mapped_column(Integer)
    lost: Mapped[int] = mapped_column(Integer)


class KpiBuyerGap(Base):
    """The program-wide visit rows (``KpiVisit.day_first``) of a day counted by their gap
    to the card's previous purchase day (``day - prev_day``, at most ``GAP_CAP``; no
    previous day counts as ``GAP_CAP``). A row is a window's buyer when the gap exceeds
    its day's offset in the window, so any window of up to ``GAP_CAP - 1`` days sums
    these rows instead of the visits. ``second_from`` / ``second_to`` count the rows
    after a day of a single purchase by the gap to the previous and the one before: a
    window's repeat buyers add the first and take the second up to the offset."""

    __tablename__ = "kpi_buyer_gaps"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    gap: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyers: Mapped[int] = mapped_column(Integer)
    multi: Mapped[int] = mapped_column(Integer)  # of those, two purchases or more that day
    second_from: Mapped[int] = mapped_column(Integer)
    second_to: Mapped[int] = mapped_column(Integer)


class KpiStageGap(Base):
    """The program-wide visit rows (``KpiVisit.day_first``) of a day as ``KpiBuyerGap``
    counts them (by gap to the card's previous purchase day), per the lifecycle stage
    now stored for the card's member (``Member.stage``; none while it is NULL), with the
    day's purchases and money paid over all stores: a stage's buyers, receipts and money
    of any window up to ``GAP_CAP - 1`` days. A member's stage change moves the rows of
    the member's card (app.analytics.stage_gaps.move); rows that empty are deleted."""

    __tablename__ = "kpi_stage_gaps"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    gap: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyers: Mapped[int] = mapped_column(Integer)
    receipts: Mapped[int] = mapped_column(Integer)
    due: Mapped[int] = mapped_column(BigMoney)


class KpiCohortDay(Base):
    """Cards whose member enrolled on local day ``enrol_day`` and that bought for the
    first (``firsts``) or second (``seconds``) time on local day ``day``: the cohort
    conversions of any run of whole days, without joining members to their cards."""

    __tablename__ = "kpi_cohort_days"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    enrol_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    firsts: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(Integer)


class KpiLoyalDay(Base):
    """Cards that turn loyal at the local midnight starting ``day`` less those that stop
    being loyal then (app.analytics.loyal_days): the loyal cards at a midnight are the
    sum of the rows up to its day."""

    __tablename__ = "kpi_loyal_days"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    delta: Mapped[int] = mapped_column(Integer)


class KpiLoyalPaid(Base):
    """Money paid on local day ``day`` by the cards loyal at the midnight starting
    ``at_day``, as deltas along ``at_day`` (app.analytics.loyal_days): the loyal revenue
    of the days [S, E) is the sum of the rows with S <= day < E and at_day <= E, for
    periods of up to ``LOYAL_HORIZON`` days (no row has at_day > day + LOYAL_HORIZON)."""

    __tablename__ = "kpi_loyal_paid"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    due: Mapped[int] = mapped_column(BigMoney)


LOYAL_HORIZON = 366  # the longest period whose loyal revenue KpiLoyalPaid holds
GAP_CAP = 367  # a gap of 367 days or more (or none) makes a buyer of every window up to 366


# Cards per wallet app, kept where registrations and Google saves are written
# (app.services.wallet_counts) so the dashboard reads a few rows instead of every
# registration; rebuilt by ``walletpass analytics rebuild``.

ANY_APP = "any"  # WalletCount.wallet_app of members with a card in at least one wallet
SLOTS = 8  # counter rows per key, so concurrent writers rarely wait on one row


class WalletPassApp(Base):
    """A pass present in a wallet app: ``places`` is how many devices of that app hold
    it (registrations), 1 for a saved Google object. No row when there is none."""

    __tablename__ = "wallet_pass_apps"

    pass_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_passes.id", ondelete="CASCADE"), primary_key=True
    )
    wallet_app: Mapped[str] = mapped_column(String(20), primary_key=True)
    places: Mapped[int] = mapped_column(Integer)


class WalletMember(Base):
    """A member with a card in some wallet: ``places`` counts the WalletPassApp rows of
    the member's cards' passes. No row when there is none."""

    __tablename__ = "wallet_members"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    places: Mapped[int] = mapped_column(Integer)


class WalletCount(Base):
    """Passes in a wallet app now (the WalletPassApp rows), or members with a card in
    some wallet (``wallet_app`` = ANY_APP), split over SLOTS rows: sum them."""

    __tablename__ = "wallet_counts"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    wallet_app: Mapped[str] = mapped_column(String(20), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    cards: Mapped[int] = mapped_column(Integer)


class WalletEventDay(Base):
    """Install or removal events (wallet_app_events) of the program's passes per local
    day and wallet app, split over SLOTS rows: sum them."""

    __tablename__ = "wallet_event_days"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    wallet_app: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
