"""The dashboard's figures from the daily rollups: purchases recorded by the till keep
them, `walletpass analytics rebuild` writes the same rows from the receipts, and the
figures equal the row-by-row reference (tests/integration/kpi_reference.py), on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.analytics import loyal_days, rollups, stage_days, stage_gaps
from app.analytics.kpis import kpis_by_stage, kpis_by_store, kpis_series
from app.analytics.models import KpiBuyerGap as G
from app.analytics.models import KpiCard, KpiDay, KpiRollupState, KpiStageDay, KpiVisit
from app.analytics.models import KpiCohortDay as C
from app.analytics.models import KpiLoyalDay as L
from app.analytics.models import KpiLoyalPaid as P
from app.analytics.models import KpiStageGap as S
from app.analytics.rebuild import rebuild
from app.bootstrap import Services, alembic_config
from app.clock import FixedClock
from app.loyalty import rules
from app.loyalty.models import Card, Member, Program, Store
from app.services import terminals, till
from app.services.lifecycle import refresh_stages
from app.services.programs import seed_demo
from app.services.seed_kpis import seed_kpis
from app.till.models import Receipt, Refund, Terminal
from tests.integration.kpi_reference import (
    reference_by_stage,
    reference_kpis,
    reference_seed_kpis,
)
from tests.integration.test_kpis import History


def shop(session: Session, services: Services, program: Program) -> None:
    """Members enrolled over five months, buying through the till at three stores and a
    till in no store (some twice a day, at one store or two), shoppers without a card,
    and a few refunds; the clock moves forward purchase by purchase, and the daily job
    recomputes the stages every 20 days (members move between stages they bought in)."""
    rng = random.Random(3)
    h = History(session, services, program)
    tills: list[Terminal] = []
    for code in ("north", "south", "east"):
        session.add(Store(program_id=program.id, code=code, name=code.title()))
        session.flush()
        tills.append(terminals.add_terminal(session, services.clock, program, code, code)[0])
    tills.append(terminals.add_terminal(session, services.clock, program, "kiosk")[0])
    begin = services.clock.now() - timedelta(days=150)
    cards = [h.member(begin + timedelta(days=rng.randrange(120))) for _ in range(40)]
    for card in cards:  # cards a till can scan
        card.number, card.barcode_secret = rules.new_card_number(), rules.new_barcode_secret()
    sales: list[tuple[datetime, Card | None, Terminal]] = []
    for card in cards:
        for _ in range(rng.choice((0, 1, 2, 3, 5, 8))):
            at = card.created_at + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(24))
            sales.append((at, card, rng.choice(tills)))
            if rng.random() < 0.2:  # again the same day, here or elsewhere
                sales.append((at + timedelta(minutes=30), card, rng.choice(tills)))
    for _ in range(60):
        sales.append(
            (begin + timedelta(days=rng.randrange(150), hours=rng.randrange(24)), None, tills[0])
        )
    sales.sort(key=lambda sale: sale[0])
    now = services.clock.now()
    clock: Any = services.clock
    job_at = begin
    try:
        for n, (at, card, terminal) in enumerate(sales):
            while job_at + timedelta(days=20) <= at:
                job_at += timedelta(days=20)
                refresh_stages(session, FixedClock(job_at), program)
            clock._now = at
            barcode = rules.barcode_value(card.number, card.barcode_secret) if card else None
            req = till.PurchaseRequest(
                receipt_id=f"r{n}", amount=rng.randrange(500, 9000), barcode=barcode
            )
            till.record_purchase(session, services.clock, terminal, req, f"r{n}")
    finally:
        clock._now = now
    for receipt in session.scalars(select(Receipt).where(Receipt.program_id == program.id)):
        if rng.random() < 0.1:
            session.add(
                Refund(
                    receipt_pk=receipt.id,
                    terminal_id=receipt.terminal_id,
                    refund_id=f"f{receipt.id}",
                    amount=300,
                    money_back=300,
                    points_returned=0,
                    points_taken_back=0,
                    request_hash="h",
                    created_at=receipt.created_at + timedelta(days=rng.randrange(1, 20)),
                )
            )
    session.flush()


def table(session: Session, program: Program) -> tuple[list[Any], ...]:
    days = session.execute(
        select(KpiDay.day, KpiDay.store_key, KpiDay.with_card, KpiDay.receipts, KpiDay.due)
        .where(KpiDay.program_id == program.id)
        .order_by(KpiDay.day, KpiDay.store_key, KpiDay.with_card)
    ).all()
    visits = session.execute(
        select(KpiVisit)
        .where(KpiVisit.program_id == program.id)
        .order_by(KpiVisit.card_id, KpiVisit.store_key, KpiVisit.day)
    ).scalars()
    skip = {"_sa_instance_state", "first_at"}  # first_at: the same instant, maybe other precision
    cards = session.execute(
        select(KpiCard.card_id, KpiCard.first_at, KpiCard.second_at, KpiCard.last_at)
        .where(KpiCard.program_id == program.id)
        .order_by(KpiCard.card_id)
    ).all()
    gaps = session.execute(
        select(G.day, G.gap, G.buyers, G.multi, G.second_from, G.second_to)
        .where(G.program_id == program.id)
        .order_by(G.day, G.gap)
    ).all()
    cohorts = session.execute(
        select(C.enrol_day, C.day, C.firsts, C.seconds)
        .where(C.program_id == program.id)
        .order_by(C.enrol_day, C.day)
    ).all()
    loyal = session.execute(  # a till's rows that cancelled out read as none
        select(L.day, L.delta).where(L.program_id == program.id, L.delta != 0).order_by(L.day)
    ).all()
    paid = session.execute(
        select(P.day, P.at_day, P.due)
        .where(P.program_id == program.id, P.due != 0)
        .order_by(P.day, P.at_day)
    ).all()
    stage_gaps = session.execute(  # moves that emptied a row deleted it
        select(S.day, S.stage, S.gap, S.buyers, S.receipts, S.due)
        .where(S.program_id == program.id)
        .order_by(S.day, S.stage, S.gap)
    ).all()
    state = session.get(KpiRollupState, program.id)
    assert state is not None
    return (
        list(days),
        [{k: v for k, v in vars(row).items() if k not in skip} for row in visits],
        list(cards),
        list(gaps),
        list(cohorts),
        list(loyal),
        [(state.loyal_min_purchases, state.loyal_window_days)],
        list(paid),
        list(stage_gaps),
    )


def migration(revision: str) -> Any:
    script = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
    assert script is not None
    return script.module


def backfill_agrees(session: Session, program: Program) -> None:
    """Migration 0024 fills the gap and cohort rows from the visit and card rows (and
    the members), 0025 the loyal rows, the visits' kth_day and the rule, and 0027 the
    per-stage gap rows, as the till, the daily job and the rebuild write them."""
    kept = table(session, program)
    assert len(kept[3]) > 50 and len(kept[4]) > 20 and len(kept[5]) > 10 and len(kept[7]) > 50
    assert len(kept[8]) > 50 and {row[1] for row in kept[8]} >= {"newcomer", "active"}
    assert sum(v["kth_day"] is not None for v in kept[1]) > 10
    session.execute(delete(G))  # every program: the backfill writes them all
    session.execute(delete(C))
    session.execute(delete(L))
    session.execute(delete(P))
    session.execute(delete(S))
    session.execute(update(KpiVisit).values(kth_day=None))
    session.execute(update(KpiRollupState).values(loyal_min_purchases=None, loyal_window_days=None))
    session.expire_all()
    with Operations.context(MigrationContext.configure(session.connection())):
        migration("0024")._backfill_gaps()
        migration("0024")._backfill_cohorts()
        migration("0025")._backfill()
        migration("0027")._backfill()
    assert table(session, program) == kept


def check(session: Session, program: Program, now: datetime) -> None:
    """The dashboard's reads (weeks, the period, each store, one store's weeks) for the
    last 12 weeks ending at tonight's local midnight equal the reference."""
    session.expire(program, ["stores"])
    assert len(program.stores) >= 3
    today = rollups.day_of(program, now) + 1
    weeks = [
        (rollups.midnight(program, today - 7 * (i + 1)), rollups.midnight(program, today - 7 * i))
        for i in reversed(range(12))
    ]
    period = (weeks[0][0], weeks[-1][1])
    assert rollups.day_windows(session, program, [*weeks, period]) is not None  # rollups read
    *series, total = kpis_series(session, program, [*weeks, period])
    assert series == [reference_kpis(session, program, *w) for w in weeks]
    assert total == reference_kpis(session, program, *period)
    assert total.receipts > 100 and total.repeat_share
    by_store = kpis_by_store(session, program, *period, total)
    for store in program.stores:
        assert by_store[store.id] == reference_kpis(session, program, *period, store.id)
        alone = kpis_series(session, program, weeks[-4:], store_id=store.id)
        assert alone == [reference_kpis(session, program, *w, store.id) for w in weeks[-4:]]
    assert by_store[None].receipts == total.receipts - sum(
        by_store[s.id].receipts for s in program.stores
    )
    # Windows of unequal lengths (nested CASEs instead of arithmetic on days).
    uneven = [(weeks[0][0], weeks[1][1]), weeks[2], (weeks[3][0], weeks[6][1])]
    assert kpis_series(session, program, uneven) == [
        reference_kpis(session, program, *w) for w in uneven
    ]
    # Longer than the gap rows serve (366 days): the buyers come from the visit rows.
    long = (rollups.midnight(program, today - 400), period[1])
    assert kpis_series(session, program, [long, *weeks[-2:]]) == [
        reference_kpis(session, program, *w) for w in [long, *weeks[-2:]]
    ]
    # A window not at local midnights is summed from the receipts, with the same rules.
    odd = (period[0] + timedelta(hours=5), period[1])
    assert rollups.day_windows(session, program, [odd]) is None
    assert kpis_series(session, program, [odd]) == [reference_kpis(session, program, *odd)]
    assert loyal_days.current(session, program)  # the loyal rows hold the program's rule
    early = (rollups.midnight(program, today - 400), rollups.midnight(program, today - 380))
    seed_figures(session, program, [period, weeks[-1], uneven[2], odd, early, long])
    stage_figures(session, program, now, [period, weeks[-1], uneven[2], odd, long])


def seed_figures(
    session: Session, program: Program, windows: list[tuple[datetime, datetime]]
) -> None:
    """The seed KPIs (loyal buyers at two instants, loyal revenue, repeat purchases) read
    from the rollups for windows on local midnights equal the reference, which reads
    the receipts; on a history where they are not all zero."""
    loyal = timedelta(days=program.loyal_window_days)
    assert rollups.day_windows(session, program, [(windows[0][0] - loyal, windows[0][1])])
    for window in windows:
        found = seed_kpis(session, program, *window).as_json()
        assert found == reference_seed_kpis(session, program, *window)
    period = seed_kpis(session, program, *windows[0]).buyers
    assert period.loyal_buyers > period.loyal_buyers_previous > 0
    assert 0 < period.repeat_purchases < period.card_purchases
    assert 0 < period.loyal_revenue < period.loyal_revenue / period.loyal_revenue_share  # type: ignore[operator]


def stage_figures(
    session: Session, program: Program, now: datetime, windows: list[tuple[datetime, datetime]]
) -> None:
    """The per-stage table, from the per-stage gap rows for windows on local midnights
    (the visit rows past 366 days) and from the receipts otherwise, equals the
    reference, with refunds of the period netted: with the stages the daily job stores
    (here every buyer of the period is active), then with members spread over the four
    stages (moved as the daily job moves them), then as the daily job stores them again.
    The first window starts mid-history (buyers whose previous purchase is before it)
    and has cards that bought at two stores on one day."""
    start, end = windows[0]
    first, last = rollups.day_of(program, start), rollups.day_of(program, end)
    v = KpiVisit
    in_window = [v.program_id == program.id, v.day >= first, v.day < last]
    assert session.scalar(select(func.count()).where(*in_window, v.day_first, v.prev_day < first))
    assert session.scalar(select(func.count()).where(*in_window, ~v.day_first))
    for spread in (False, True):
        if spread:
            members = session.scalars(
                select(Member).where(Member.program_id == program.id).order_by(Member.id)
            ).all()
            moved = []
            for n, member in enumerate(members):
                new = ("newcomer", "active", "at_risk", "lost")[n % 4]
                if new != member.stage:
                    moved.append((member.id, member.stage, new))
                    member.stage = new
            session.flush()
            assert len(moved) > 20
            stage_gaps.move(session, program, moved)
        else:
            refresh_stages(session, FixedClock(now), program)
        for window in windows:
            assert kpis_by_stage(session, program, *window) == reference_by_stage(
                session, program, *window
            )
    refunded = session.scalar(
        select(func.count())
        .select_from(Refund)
        .join(Receipt, Receipt.id == Refund.receipt_pk)
        .where(
            Receipt.card_id.is_not(None),
            Receipt.created_at >= start,
            Receipt.created_at < end,
            Refund.created_at < end,
        )
    )
    rows = kpis_by_stage(session, program, start, end)
    assert refunded and all(row.receipts for row in rows)
    assert sum(row.buyers for row in rows) < sum(row.receipts for row in rows)
    assert refresh_stages(session, FixedClock(now), program)  # moved back
    for window in windows:
        assert kpis_by_stage(session, program, *window) == reference_by_stage(
            session, program, *window
        )


def rebuild_agrees(session: Session, program: Program, now: datetime) -> None:
    """The rebuild writes what the till kept; the daily job's stage rows are the
    rebuild's."""
    kept = table(session, program)
    assert len(kept[1]) > 80 and len(kept[2]) > 20
    rebuild(session, program, now)
    assert table(session, program) == kept
    stored = session.scalars(
        select(KpiStageDay).where(KpiStageDay.program_id == program.id).order_by(KpiStageDay.day)
    ).all()
    rows = [(r.day, r.newcomer, r.active, r.at_risk, r.lost) for r in stored]
    assert len(rows) > 100 and rows[-1][0] == rollups.day_of(program, now)
    for row in stored[-40:]:
        session.delete(row)
    session.flush()
    assert stage_days.refresh(session, program, now) == 40
    again = session.scalars(
        select(KpiStageDay).where(KpiStageDay.program_id == program.id).order_by(KpiStageDay.day)
    ).all()
    assert [(r.day, r.newcomer, r.active, r.at_risk, r.lost) for r in again] == rows


def buy_more(session: Session, services: Services, program: Program, days: int) -> None:
    """Purchases through the till after the history: each card with a purchase buys on
    each of ``days`` days at the same store, twice on the second."""
    clock: Any = services.clock
    now = clock.now()
    last = session.scalar(select(func.max(Receipt.created_at)))
    terminal = session.scalars(select(Terminal).where(Terminal.program_id == program.id)).first()
    assert last is not None and terminal is not None
    cards = session.scalars(
        select(Card).where(Card.id.in_(select(Receipt.card_id))).order_by(Card.id)
    ).all()
    try:
        for day in range(days):
            for n, card in enumerate(cards[: 10 + 5 * day]):
                for again in range(2 if day == 1 else 1):
                    clock._now = rollups.aware(last) + timedelta(days=day, minutes=n, hours=again)
                    barcode = rules.barcode_value(card.number, card.barcode_secret)
                    ref = f"m{day}-{card.id}-{again}"
                    req = till.PurchaseRequest(receipt_id=ref, amount=1000 + n, barcode=barcode)
                    till.record_purchase(session, services.clock, terminal, req, ref)
    finally:
        clock._now = now


def rules_change(session: Session, services: Services, program: Program) -> None:
    """A program whose loyal rule changes reads the visit rows (the rule of the moment)
    while the till keeps the loyal rows with the rule they were written with; back to
    that rule they are read again, and a rebuild writes the new one."""
    now = services.clock.now()
    today = rollups.day_of(program, now) + 1
    period = (rollups.midnight(program, today - 84), rollups.midnight(program, today))
    week = (rollups.midnight(program, today - 7), period[1])
    old = (program.loyal_min_purchases, program.loyal_window_days)
    program.loyal_min_purchases, program.loyal_window_days = 2, 30
    session.flush()
    assert not loyal_days.current(session, program)
    seed_figures(session, program, [period, week])
    buy_more(session, services, program, 3)
    last = rollups.day_of(
        program, rollups.aware(session.scalar(select(func.max(Receipt.created_at))))
    )
    later = (rollups.midnight(program, last - 13), rollups.midnight(program, last + 1))
    seed_figures(session, program, [period, week, later])
    program.loyal_min_purchases, program.loyal_window_days = old
    session.flush()
    assert loyal_days.current(session, program)
    seed_figures(session, program, [period, week, later])
    kept = table(session, program)
    rebuild(session, program, now)
    assert table(session, program) == kept
    program.loyal_min_purchases, program.loyal_window_days = 2, 30
    session.flush()
    rebuild(session, program, now)
    assert loyal_days.current(session, program)
    seed_figures(session, program, [period, week, later])
    # Cards stop being loyal 30 days after their second most recent purchase.
    assert any(delta < 0 for _, delta in table(session, program)[5])


def test_rollups_kept_by_the_till_and_rebuilt(
    session: Session, services: Services, demo: Program
) -> None:
    shop(session, services, demo)
    session.commit()
    check(session, demo, services.clock.now())
    backfill_agrees(session, demo)
    rebuild_agrees(session, demo, services.clock.now())
    check(session, demo, services.clock.now())
    rules_change(session, services, demo)


def test_rollups_on_postgresql(pg_services: Services) -> None:
    with pg_services.transaction() as session:
        program = seed_demo(session, pg_services.clock)
        shop(session, pg_services, program)
    with pg_services.transaction() as session:
        program = session.get(Program, program.id)
        assert program is not None
        check(session, program, pg_services.clock.now())
        backfill_agrees(session, program)
        rebuild_agrees(session, program, pg_services.clock.now())
        check(session, program, pg_services.clock.now())
        rules_change(session, pg_services, program)


def test_a_history_written_around_the_till_waits_for_a_rebuild(
    session: Session, services: Services, demo: Program
) -> None:
    """Receipts that predate the rollups (or came in bulk) are summed from the receipts
    until `walletpass analytics rebuild`; the till then keeps the rollups."""
    h = History(session, services, demo)
    card = h.member(services.clock.now() - timedelta(days=20))
    card.number, card.barcode_secret = rules.new_card_number(), rules.new_barcode_secret()
    h.receipt(services.clock.now() - timedelta(days=3), 1000, card)
    terminal = terminals.add_terminal(session, services.clock, demo, "T2")[0]
    barcode = rules.barcode_value(card.number, card.barcode_secret)
    req = till.PurchaseRequest(receipt_id="x", amount=2000, barcode=barcode)
    till.record_purchase(session, services.clock, terminal, req, "x")
    now = services.clock.now()
    day = rollups.day_of(demo, now)
    window = [(rollups.midnight(demo, day - 6), rollups.midnight(demo, day + 1))]
    assert rollups.day_windows(session, demo, window) is None
    assert kpis_series(session, demo, window) == [reference_kpis(session, demo, *window[0])]
    rebuild(session, demo, now)
    assert rollups.day_windows(session, demo, window) is not None
    figures = kpis_series(session, demo, window)[0]
    assert figures == reference_kpis(session, demo, *window[0])
    assert (figures.receipts, figures.repeat_share) == (2, 1.0)


def test_loyal_on_the_last_midnight_of_the_window(
    session: Session, services: Services, demo: Program
) -> None:
    """With the rule "2 purchases within 7 days", purchases on the days 7 and 1 before a
    midnight make a loyal buyer at that midnight and not at the next one, in the counts
    and in the loyal revenue, a refund included (the figures equal the reference's)."""
    demo.loyal_min_purchases, demo.loyal_window_days = 2, 7
    h = History(session, services, demo)
    now = services.clock.now()
    today = rollups.day_of(demo, now)
    card = h.member(now - timedelta(days=30))
    h.receipt(rollups.midnight(demo, today - 7) + timedelta(hours=10), 1000, card)
    last = h.receipt(rollups.midnight(demo, today - 1) + timedelta(hours=10), 2000, card)
    session.add(
        Refund(
            receipt_pk=last.id,
            terminal_id=last.terminal_id,
            refund_id="f1",
            amount=300,
            money_back=300,
            points_returned=0,
            points_taken_back=0,
            request_hash="h",
            created_at=last.created_at + timedelta(hours=1),
        )
    )
    rebuild(session, demo, now)
    assert loyal_days.current(session, demo)
    found = []
    for end in (today, today + 1):
        window = (rollups.midnight(demo, today - 1), rollups.midnight(demo, end))
        figures = seed_kpis(session, demo, *window).as_json()
        assert figures == reference_seed_kpis(session, demo, *window)
        found.append((figures["loyal_buyers_previous"], figures["loyal_buyers"]))
        found.append(figures["loyal_revenue"])
    assert found == [(0, 1), 1700, (0, 0), 0]
