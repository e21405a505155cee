"""A campaign's bonus awarded set-based: the same rows and balances as card by card,
once per idempotency key, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import CampaignTarget
from app.loyalty import ledger
from app.loyalty.models import Card, LedgerEntry
from app.passes.models import WalletPass
from app.services import campaigns
from app.services.programs import seed_demo
from app.simulate.population import registered_passes
from tests.integration.test_campaigns import draft

N = 40
AWARD: dict[str, Any] = {"points": 75, "kind": "bonus", "valid_days": 30, "reference": "c:9"}


def _cards(services: Services, n: int = N) -> list[int]:
    """n cards with a pass each; every third already holds an earned lot."""
    with services.transaction() as tx:
        program = seed_demo(tx, services.clock)
        tokens = [f"{i:064x}" for i in range(n)]
        registered_passes(tx, program, tokens, services.clock.now(), stage="at_risk")
        ids = sorted(tx.scalars(select(Card.id)))
        for card_id in ids[::3]:
            card = ledger.lock_card(tx, card_id)
            ledger.credit(
                tx,
                card,
                points=10,
                kind="earn",
                now=services.clock.now(),
                valid_days=None,
                reference="r",
            )
    return ids


def _state(session: Session) -> tuple[dict[int, int], list[tuple[Any, ...]]]:
    balances = dict(session.execute(select(Card.id, Card.balance)).all())
    rows = sorted(
        session.execute(
            select(
                LedgerEntry.card_id,
                LedgerEntry.kind,
                LedgerEntry.points,
                LedgerEntry.remaining,
                LedgerEntry.expires_at,
                LedgerEntry.reference,
                LedgerEntry.idempotency_key,
                LedgerEntry.note,
                LedgerEntry.created_at,
            )
        ).all(),
        key=repr,
    )
    return balances, rows


def _invariant(session: Session) -> None:
    sums = dict(
        session.execute(
            select(LedgerEntry.card_id, func.sum(LedgerEntry.points)).group_by(LedgerEntry.card_id)
        ).all()
    )
    lots = dict(
        session.execute(
            select(LedgerEntry.card_id, func.sum(LedgerEntry.remaining)).group_by(
                LedgerEntry.card_id
            )
        ).all()
    )
    for card_id, balance in session.execute(select(Card.id, Card.balance)):
        assert balance == sums.get(card_id, 0) == lots.get(card_id, 0)


@pytest.mark.parametrize("valid_days", [30, None])
def test_award_many_writes_what_awarding_one_by_one_writes(
    real_services: Services, valid_days: int | None
) -> None:
    ids = _cards(real_services)
    now = real_services.clock.now()
    award = {**AWARD, "valid_days": valid_days}
    pairs = [(card_id, f"c:9:{card_id}") for card_id in ids[: N // 2]]
    with real_services.transaction() as tx:  # one key already used before the campaign
        ledger.award(tx, ids[0], now=now, idempotency_key=f"c:9:{ids[0]}", **award)

    one_by_one = real_services.write_sessions()
    try:
        for card_id, key in pairs:
            ledger.award(one_by_one, card_id, now=now, idempotency_key=key, **award)
        one_by_one.flush()
        expected = _state(one_by_one)
    finally:
        one_by_one.rollback()
        one_by_one.close()

    with real_services.transaction() as tx:
        loaded = tx.get(Card, ids[1])  # a card the session holds sees its new balance
        assert loaded is not None
        before = loaded.balance
        credited = ledger.award_many(tx, pairs + pairs[1:3], now=now, **award)
        assert sorted(credited) == sorted(card_id for card_id, _ in pairs[1:])
        assert loaded.balance == before + 75
    with real_services.transaction(write=False) as tx:
        assert _state(tx) == expected
        _invariant(tx)
        lot = tx.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == pairs[5][1]))
        assert lot is not None
        assert lot.expires_at == (now + timedelta(days=valid_days) if valid_days else None)
        assert lot.remaining == lot.points == 75


def test_a_replayed_chunk_awards_nothing_twice(real_services: Services) -> None:
    ids = _cards(real_services)
    now = real_services.clock.now()
    pairs = [(card_id, f"c:9:{card_id}") for card_id in ids]
    with real_services.transaction() as tx:
        assert len(ledger.award_many(tx, pairs, now=now, **AWARD)) == N
    with real_services.transaction(write=False) as tx:
        after_first = _state(tx)
    with real_services.transaction() as tx:
        assert ledger.award_many(tx, pairs, now=now, **AWARD) == []
    with real_services.transaction(write=False) as tx:
        assert _state(tx) == after_first
        _invariant(tx)


def test_award_many_refuses_a_missing_card_and_writes_nothing(real_services: Services) -> None:
    ids = _cards(real_services, 5)
    with real_services.transaction(write=False) as tx:
        before = _state(tx)
    with pytest.raises(LookupError), real_services.transaction() as tx:
        ledger.award_many(tx, [(ids[0], "a"), (10**9, "b")], now=real_services.clock.now(), **AWARD)
    with real_services.transaction(write=False) as tx:
        assert _state(tx) == before


def test_a_chunk_applied_twice_gives_each_card_its_bonus_once(real_services: Services) -> None:
    _cards(real_services)
    with real_services.transaction() as tx:
        program = seed_demo(tx, real_services.clock)
        campaign = campaigns.create(
            tx,
            real_services.clock,
            program,
            draft(holdout_percent=0, bonus_points=50),
            "test",
        )
        campaign.status = "sending"
        campaign_id = campaign.id
    with real_services.transaction() as tx:
        assert campaigns.select_targets(tx, real_services.clock, campaign_id) == N
    with real_services.transaction() as tx:
        chunk = campaigns.next_chunk(tx, campaign_id)
    for _ in range(2):  # a worker that died after its commit runs the chunk again
        with real_services.transaction() as tx:
            campaigns.apply_chunk(tx, real_services.clock, campaign_id, chunk)
    with real_services.transaction(write=False) as tx:
        bonus = Counter(
            tx.scalars(
                select(LedgerEntry.card_id).where(
                    LedgerEntry.reference == f"campaign:{campaign_id}"
                )
            )
        )
        targets = set(tx.scalars(select(CampaignTarget.card_id)))
        assert set(bonus) == targets and set(bonus.values()) == {1} and len(targets) == N
        assert set(tx.scalars(select(WalletPass.version))) == {3}  # marked changed twice
        _invariant(tx)


def test_racing_awards_of_one_chunk_credit_each_key_once(pg_services: Services) -> None:
    ids = _cards(pg_services, 300)
    now = pg_services.clock.now()
    pairs = [(card_id, f"c:9:{card_id}") for card_id in ids]
    start = threading.Barrier(3)
    credited: list[int] = []
    errors: list[BaseException] = []

    def run(part: list[tuple[int, str]]) -> None:
        start.wait()
        try:
            with pg_services.transaction() as tx:
                credited.extend(ledger.award_many(tx, part, now=now, **AWARD))
        except BaseException as exc:
            errors.append(exc)

    parts = [pairs, pairs[::-1], pairs[100:]]  # overlapping, in different orders
    threads = [threading.Thread(target=run, args=(part,)) for part in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and sorted(credited) == ids
    with pg_services.transaction(write=False) as tx:
        _invariant(tx)
        assert tx.scalar(select(func.count()).where(LedgerEntry.kind == "bonus")) == 300
