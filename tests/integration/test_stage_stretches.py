"""On PostgreSQL the rebuild's stage counts per midnight come from stretches the database
computes and counts (app.analytics.stretches): the same counts as the members' histories
fed to ``StageCounter`` one by one, and as the daily job's count at a midnight, also for
purchases before enrolment, at the same instant, or exactly at a midnight."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from app.analytics import rollups, stage_days
from app.analytics.histories import histories
from app.analytics.lifecycle import StageCounter, Thresholds
from app.analytics.models import KpiStageDay
from app.analytics.stretches import stretches
from app.bootstrap import Services
from app.loyalty.models import Member
from app.services.programs import seed_demo
from app.simulate import bulk, model
from tests.helpers import START, fixed_clock

SPEC = model.Spec(seed=9, members=400, receipts=4_000, stores=5, days=120, end=START, campaigns=0)


def test_stage_counts_from_stretches_equal_the_histories_and_the_daily_count(
    pg_services: Services,
) -> None:
    fixed_clock(pg_services).set(START)
    with pg_services.transaction() as session:
        program = seed_demo(session, pg_services.clock)
        bulk.simulate(session, pg_services.clock, program, SPEC)
        day = rollups.day_of(program, START) - 30
        # Odd histories: members enrolled after some of their purchases, two purchases
        # at one instant, purchases exactly at a local midnight.
        session.execute(
            text("UPDATE members SET created_at = created_at + interval '20 days' WHERE id % 7 = 0")
        )
        session.execute(
            text("UPDATE receipts SET created_at = :at WHERE card_id IS NOT NULL AND id % 11 = 0"),
            {"at": rollups.midnight(program, day)},
        )
        session.execute(
            text(
                "UPDATE receipts r SET created_at = o.created_at FROM receipts o "
                "WHERE o.card_id = r.card_id AND o.id = r.id - 1 AND r.id % 13 = 0"
            )
        )
        later = session.scalar(
            select(func.count())
            .select_from(Member)
            .where(
                text(
                    "EXISTS (SELECT 1 FROM cards c JOIN receipts r ON r.card_id = c.id "
                    "WHERE c.member_id = members.id AND r.created_at < members.created_at)"
                )
            )
        )
        assert later and later > 10

        first = session.scalar(select(func.min(Member.created_at)))
        days = range(rollups.day_of(program, rollups.aware(first)) + 1, day + 40)
        instants = [rollups.midnight(program, d) for d in days]
        limits = Thresholds(
            program.newcomer_days, program.at_risk_after_days, program.lost_after_days
        )
        by_sql, by_python = StageCounter(limits, instants), StageCounter(limits, instants)
        for stretch in stretches(session, program, instants, limits):
            by_sql.add_stretch(*stretch)
        for enrolled, purchases in histories(
            session, program, instants[0], instants[-1], instants[0]
        ):
            by_python.add(enrolled, purchases)
        assert by_sql.totals() == by_python.totals()
        assert by_sql.totals()[-1]["active"] > 50

        now = rollups.midnight(program, day + 40) - timedelta(seconds=1)
        stage_days.rebuild(session, program, now)
        stored = {
            row.day: {
                name: getattr(row, name) for name in ("newcomer", "active", "at_risk", "lost")
            }
            for row in session.scalars(select(KpiStageDay))
        }
        for at_day in range(day - 60, day + 40, 9):
            expected = stage_days.counts_at(session, program, rollups.midnight(program, at_day))
            assert stored[at_day] == expected, at_day
