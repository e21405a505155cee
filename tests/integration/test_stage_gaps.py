"""The per-stage gap rows while the daily job changes stages: a till's purchase of a
member being moved counts under the stage the member ends up in (PostgreSQL, real
sessions and row locks)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from app.analytics.models import KpiStageGap as S
from app.analytics.rebuild import rebuild
from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Program
from app.services import enrollment, terminals, till
from app.services.lifecycle import refresh_stages
from app.services.programs import seed_demo
from app.till.models import Terminal


def test_a_purchase_while_the_daily_job_moves_its_member_counts_under_the_new_stage(
    pg_services: Services, clock: FixedClock
) -> None:
    """The job has moved the member from newcomer to active and not committed yet: the
    till's purchase waits for it (the member's stage is read under a share lock), then
    counts as active. Unlocked, it would count as a newcomer's after the job's move had
    run, and stay there."""
    services = pg_services
    with services.transaction() as session:
        program = seed_demo(session, clock)
        form = enrollment.EnrollmentForm(name="Late", phone="+79007770001", consent=True)
        card = enrollment.enroll(
            session, clock, program, enrollment.validate(form, program, clock.now().date())
        )
        terminal = terminals.add_terminal(session, clock, program, "T")[0]
        program_id, terminal_id, member_id = program.id, terminal.id, card.member_id
        barcode = f"{card.number}-{card.barcode_secret}"
        quiet = program.newcomer_days + 1
        assert quiet < program.at_risk_after_days

    def buy(receipt_id: str) -> None:
        with services.transaction() as session:
            found = session.get(Terminal, terminal_id)
            assert found is not None
            req = till.PurchaseRequest(receipt_id=receipt_id, amount=1000, barcode=barcode)
            till.record_purchase(session, clock, found, req, receipt_id)

    buy("first")  # a newcomer's
    clock.set(clock.now() + timedelta(days=quiet))
    job = services.write_sessions()
    try:
        program = job.get(Program, program_id)
        assert program is not None
        assert refresh_stages(job, clock, program) == [(member_id, "newcomer", "active")]
        errors: list[BaseException] = []

        def second() -> None:
            try:
                buy("second")
            except BaseException as error:  # reported by the test below
                errors.append(error)

        till_thread = threading.Thread(target=second)
        till_thread.start()
        till_thread.join(1.0)
        assert till_thread.is_alive()  # waiting for the job's commit
        job.commit()
    finally:
        job.close()
    till_thread.join(30)
    assert not till_thread.is_alive() and not errors
    read = select(S.day, S.stage, S.gap, S.buyers, S.receipts, S.due).order_by(
        S.day, S.stage, S.gap
    )
    with services.transaction() as session:
        kept = session.execute(read).all()
        assert [row[1] for row in kept] == ["active", "active"]
        program = session.get(Program, program_id)
        assert program is not None
        rebuild(session, program, clock.now())
        assert session.execute(read).all() == kept
