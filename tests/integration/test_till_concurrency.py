"""Hundreds of conflicting till requests at once, through the real sessions of SQLite
(BEGIN IMMEDIATE) and PostgreSQL (row locks): no lost or doubled points."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from app.bootstrap import Services
from app.loyalty import ledger
from app.loyalty.models import Card, LedgerEntry
from app.services import enrollment, terminals
from app.services.programs import seed_demo
from app.till.models import Receipt
from app.web import create_app

REQUESTS = 300


def test_conflicting_redemptions_never_overdraw_or_double_count(real_services: Services) -> None:
    services = real_services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Shared", phone="+79007770000", consent=True)
        card = enrollment.enroll(
            session,
            services.clock,
            program,
            enrollment.validate(form, program, services.clock.now().date()),
        )
        ledger.credit(
            session,
            card,
            points=2_000,
            kind="adjust",
            now=services.clock.now(),
            valid_days=None,
            reference="seed",
        )
        keys = [
            terminals.add_terminal(session, services.clock, program, f"Till {i}")[1]
            for i in range(4)
        ]
        barcode = f"{card.number}-{card.barcode_secret}"
        card_id = card.id

    app = create_app(services=services)
    start = threading.Barrier(32)
    statuses: Counter[tuple[str, int]] = Counter()
    bodies: dict[tuple[int, str], list[dict[str, Any]]] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        client = app.test_client()
        if i < 32:
            start.wait()
        key = keys[(i // 2) % 4]
        # Each receipt id is sent twice (retries racing each other) by the same terminal,
        # every purchase spends 200 points: far more than the balance allows.
        receipt = f"R{i // 2}"
        body = {"receipt_id": receipt, "amount": 100_000, "barcode": barcode, "redeem_points": 200}
        if i % 10 == 9:  # a till that reuses a receipt id with another amount: a conflict
            body = {**body, "amount": 100_001}
        response = client.post(
            "/api/pos/v1/purchases", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        with lock:
            code = (response.json or {}).get("error", {}).get("code", "ok")
            statuses[(code, response.status_code)] += 1
            if response.status_code in (200, 201):
                bodies.setdefault(((i // 2) % 4, receipt), []).append(response.json)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(REQUESTS)))

    # Replays answered the same thing as the original.
    for answers in bodies.values():
        assert all(a == answers[0] for a in answers)
    with services.transaction(write=False) as session:
        card = session.get(Card, card_id)
        assert card is not None
        total = session.scalar(
            select(func.sum(LedgerEntry.points)).where(LedgerEntry.card_id == card_id)
        )
        remaining = session.scalar(
            select(func.sum(LedgerEntry.remaining)).where(LedgerEntry.card_id == card_id)
        )
        assert card.balance == total == remaining >= 0
        receipts = session.scalars(select(Receipt)).all()
        redeemed = sum(r.points_redeemed for r in receipts)
        earned = sum(r.points_earned for r in receipts)
        assert card.balance == 2_000 - redeemed + earned
        burns = session.scalar(select(func.count()).where(LedgerEntry.kind == "burn")) or 0
        assert burns == len(receipts)  # one burn per recorded receipt, never two
        assert len({(r.terminal_id, r.receipt_id) for r in receipts}) == len(receipts)
    ok = statuses[("ok", 201)] + statuses[("ok", 200)]
    assert statuses[("ok", 201)] == len(receipts)
    assert statuses[("insufficient_points", 409)] > 0, statuses  # the balance did run out
    assert (
        ok
        + statuses[("insufficient_points", 409)]
        + statuses[("duplicate_conflict", 409)]
        + statuses[("redeem_limit_exceeded", 422)]
        == REQUESTS
    ), statuses
