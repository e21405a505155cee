"""The dashboard's figures, read once for all weeks and stores, equal the figures of
each week and store computed the plain way (tests/integration/kpi_reference.py)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from app.analytics.kpis import kpis, kpis_by_store, kpis_series
from app.bootstrap import Services
from app.db import refresh_statistics
from app.loyalty.models import Program, Store
from app.services.programs import seed_demo
from app.till.models import Refund
from tests.integration.kpi_reference import reference_kpis
from tests.integration.test_kpis import History, day


def generated_history(session: Session, services: Services, program: Program) -> None:
    rng = random.Random(7)
    h = History(session, services, program)
    stores = [h.store]
    for code in ("north", "south"):
        store = Store(program_id=program.id, code=code, name=code.title())
        session.add(store)
        stores.append(store)
    session.flush()
    start = day(1, 1, 2025)
    for _ in range(60):
        card = h.member(start + timedelta(days=rng.randrange(480), hours=rng.randrange(24)))
        for _ in range(rng.choice((0, 1, 1, 2, 3, 6))):
            # A few purchases predate the enrolment (a base moved in from an old system).
            at = card.created_at + timedelta(days=rng.randrange(-10, 200), hours=rng.randrange(24))
            receipt = h.receipt(at, rng.randrange(500, 9000), card)
            receipt.store_id = rng.choice(stores).id
            if rng.random() < 0.15:
                session.add(
                    Refund(
                        receipt_pk=receipt.id,
                        terminal_id=h.terminal.id,
                        refund_id=f"f{receipt.id}",
                        amount=300,
                        money_back=300,
                        points_returned=0,
                        points_taken_back=0,
                        request_hash="h",
                        created_at=at + timedelta(days=rng.randrange(1, 20)),
                    )
                )
    for _ in range(80):  # shoppers without a card
        h.receipt(start + timedelta(days=rng.randrange(480), hours=rng.randrange(24)), 1500)
    session.flush()


def check(session: Session, program: Program) -> None:
    first = day(1, 5, 2025).replace(hour=0)
    weeks = [(first + timedelta(weeks=i), first + timedelta(weeks=i + 1)) for i in range(40)]
    series = kpis_series(session, program, weeks)
    assert series == [reference_kpis(session, program, start, end) for start, end in weeks]
    assert sum(k.members_enrolled for k in series) > 20  # the weeks hold real activity
    assert {k.at_risk_share for k in series} - {None}
    # Overlapping windows (the dashboard's weeks and their whole period) in one call.
    mixed = [weeks[9], (weeks[0][0], weeks[12][1]), *weeks[:3], (weeks[2][0], weeks[5][1])]
    expected = [reference_kpis(session, program, *w) for w in mixed]
    assert kpis_series(session, program, mixed) == expected
    # One window alone (the CRM API) takes the summed-up read of the history.
    assert [kpis(session, program, *w) for w in mixed] == expected
    for store in program.stores:
        alone = [reference_kpis(session, program, s, e, store.id) for s, e in weeks[:8]]
        assert kpis_series(session, program, weeks[:8], store_id=store.id) == alone
    year = (day(1, 1, 2025).replace(hour=0), day(1, 1, 2026).replace(hour=0))
    by_store = kpis_by_store(session, program, *year)
    stores = {k: v for k, v in by_store.items() if k is not None}
    assert stores == {s.id: reference_kpis(session, program, *year, s.id) for s in program.stores}
    assert sum(k.receipts for k in stores.values()) > 50
    # Receipts of tills in no store have a row of their own: the rows add up to the total.
    total = kpis(session, program, *year)
    assert by_store[None].receipts == total.receipts - sum(k.receipts for k in stores.values())
    # The dashboard passes the period's figures in, so the history is not read twice.
    assert kpis_by_store(session, program, *year, kpis(session, program, *year)) == by_store


def test_series_and_stores_match_single_windows(
    session: Session, services: Services, demo: Program
) -> None:
    generated_history(session, services, demo)
    session.commit()
    session.expire_all()
    check(session, demo)


def test_series_and_stores_match_single_windows_on_postgresql(pg_services: Services) -> None:
    with pg_services.transaction() as session:
        program = seed_demo(session, pg_services.clock)
        generated_history(session, pg_services, program)
    with pg_services.transaction() as session:
        refresh_statistics(session)  # as the daily job does: the plans change, not the figures
    with pg_services.transaction(write=False) as session:
        program = session.get(Program, program.id)
        assert program is not None
        check(session, program)
