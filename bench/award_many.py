"""A campaign chunk's bonus: card by card (ledger.award, as apply_chunk did) against
set-based (ledger.award_many), in the same process on the same database.

Usage: .venv/bin/python bench/award_many.py --url postgresql+psycopg://postgres@127.0.0.1/postgres
       [--cards 1000] [--rounds 5]

A scratch database (created and dropped) is migrated to head and given N cards. Each
round credits every card once by each method, a transaction each, alternating which
goes first, under keys of its own. Printed: per round the time of each and cards/s,
the median, and the ratio (card by card / set-based).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from app.bootstrap import upgrade_database
from app.clock import FixedClock
from app.db import make_engine
from app.loyalty import ledger
from app.loyalty.models import Card
from app.services.programs import seed_demo
from app.simulate.population import registered_passes

NOW = datetime(2026, 12, 1, tzinfo=UTC)
BONUS = {"points": 100, "kind": "bonus", "valid_days": 30}


def one_by_one(session: Session, cards: list[int], tag: str) -> None:
    for card_id in cards:
        ledger.award(
            session, card_id, now=NOW, reference=tag, idempotency_key=f"{tag}:{card_id}", **BONUS
        )


def set_based(session: Session, cards: list[int], tag: str) -> None:
    pairs = [(card_id, f"{tag}:{card_id}") for card_id in cards]
    ledger.award_many(session, pairs, now=NOW, reference=tag, **BONUS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL server (any database)")
    parser.add_argument("--cards", type=int, default=1_000, help="one campaign chunk: 1000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    name = f"bench_award_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade_database(url)
        with Session(engine) as session, session.begin():
            program = seed_demo(session, FixedClock(NOW))
            tokens = [f"{i:064x}" for i in range(args.cards)]
            registered_passes(session, program, tokens, NOW)
        with Session(engine) as session:
            cards = list(session.scalars(select(Card.id).order_by(Card.id)))
        methods: dict[str, Callable[[Session, list[int], str], None]] = {
            "card by card": one_by_one,
            "set-based": set_based,
        }
        times: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.rounds):
            order = list(methods) if r % 2 == 0 else list(methods)[::-1]
            line = []
            for method in order:
                started = time.perf_counter()
                with Session(engine) as session, session.begin():
                    methods[method](session, cards, f"bench:{r}:{method}")
                took = time.perf_counter() - started
                times[method].append(took)
                line.append(f"{method} {took * 1000:7.0f} ms")
            print(f"round {r + 1}: " + ", ".join(line))
        for method, seconds in times.items():
            median = statistics.median(seconds)
            print(
                f"{method:>12}: median {median * 1000:7.0f} ms, {args.cards / median:8.0f} cards/s"
            )
        ratio = statistics.median(times["card by card"]) / statistics.median(times["set-based"])
        print(f"set-based is {ratio:.1f}x card by card ({args.cards} cards a transaction)")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
