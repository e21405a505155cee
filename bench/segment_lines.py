"""How long segments by receipt lines take on PostgreSQL ("bought in category C within
N days", its negation, size, SKU) and the {size} lookup for a chunk of cards.

Usage: .venv/bin/python bench/segment_lines.py --url postgresql+psycopg://postgres@127.0.0.1/test
       [--cards 100000] [--lines 1000000]

A scratch database (created and dropped) is migrated to head, then filled by SQL
(generate_series): N active cards and M receipt lines over two years, 40 categories,
12 sizes, 5 000 SKUs. Printed: each segment's count and time (median of 3, warm), and,
as the baseline of the same run, the count of all cards of the program.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from app.bootstrap import upgrade_database
from app.campaigns.sizes import favourite_sizes
from app.loyalty.models import Program
from app.services import campaigns

NOW = datetime(2026, 12, 1, tzinfo=UTC)

FILL = """
INSERT INTO members (program_id, phone, name, locale, marketing_consent, created_at, stage)
SELECT :program, '+7900' || lpad(i::text, 7, '0'), 'M' || i, 'ru', true, :now, 'active'
FROM generate_series(1, :cards) i;
INSERT INTO cards (public_id, program_id, member_id, number, barcode_secret, tier_id, balance,
                   status, created_at)
SELECT md5(m.id::text), :program, m.id, lpad(m.id::text, 13, '0'), 'SSSSSSSSSS', :tier, 0,
       'active', :now
FROM members m WHERE m.program_id = :program;
INSERT INTO terminals (program_id, name, key_prefix, key_hash, created_at)
VALUES (:program, 'bench', 'bench', 'x', :now);
INSERT INTO receipts (program_id, terminal_id, receipt_id, card_id, amount, discount_bp,
                      discount_amount, points_redeemed, point_value_minor, points_earned,
                      amount_due, request_hash, created_at)
SELECT :program, (SELECT id FROM terminals WHERE key_prefix = 'bench'), 'r' || i,
       (SELECT min(id) FROM cards) + (i::bigint * 7919) % :cards, 1000, 0, 0, 0, 100, 0, 1000, 'h',
       :now - (i % 730) * interval '1 day'
FROM generate_series(1, :receipts) i;
INSERT INTO receipt_lines (receipt_pk, card_id, created_at, sku, category, size, quantity)
SELECT r.id, r.card_id, r.created_at, 'SKU-' || ((r.id * 31 + k) % 5000),
       'cat-' || ((r.id + k * 7) % 40), (80 + 6 * ((r.id + k) % 12))::text, 1
FROM receipts r CROSS JOIN generate_series(1, :per_receipt) k;
ANALYZE;
"""


def timed(fn):  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return result, statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    name = f"walletpass_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        run(url, args.cards, args.lines)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, cards: int, lines: int) -> None:
    from app.clock import FixedClock
    from app.services.programs import seed_demo

    upgrade_database(url)
    engine = create_engine(url)
    with Session(engine) as session:
        program = seed_demo(session, FixedClock(NOW))
        session.commit()
        t0 = time.perf_counter()
        receipts = lines // 3
        for statement in FILL.split(";\n"):
            if statement.strip():
                session.execute(
                    text(statement),
                    {
                        "program": program.id,
                        "tier": program.default_tier.id,
                        "now": NOW,
                        "cards": cards,
                        "receipts": receipts,
                        "per_receipt": 3,
                    },
                )
        session.commit()
        n_lines = session.scalar(text("SELECT count(*) FROM receipt_lines"))
        print(f"filled {cards} cards, {n_lines} lines in {time.perf_counter() - t0:.1f} s")
        report(session, program)


def report(session: Session, program: Program) -> None:
    cases = {
        "all cards (baseline)": {},
        "bought cat-7 within 30 days": {"bought": [{"category": "cat-7", "within_days": 30}]},
        "bought cat-7 within 365 days": {"bought": [{"category": "cat-7", "within_days": 365}]},
        "not bought cat-7 within 90 days": {
            "not_bought": [{"category": "cat-7", "within_days": 90}]
        },
        "bought size 110 in cat-7, 180 days": {
            "bought": [{"category": "cat-7", "size": "110", "within_days": 180}]
        },
        "bought SKU-42 ever": {"bought": [{"sku": "SKU-42"}]},
        "bought cat-7 and not cat-8 (90 d)": {
            "bought": [{"category": "cat-7", "within_days": 90}],
            "not_bought": [{"category": "cat-8", "within_days": 90}],
        },
    }
    base = None
    for label, segment in cases.items():
        size, seconds = timed(lambda s=segment: campaigns.segment_size(session, program, s, NOW))
        base = base or seconds
        print(f"{label:40s} {size:>8d} cards  {seconds * 1000:8.1f} ms  ({seconds / base:.1f}x)")
    ids = list(session.scalars(text("SELECT id FROM cards ORDER BY id LIMIT 1000")))
    sizes, seconds = timed(lambda: favourite_sizes(session, ids, "cat-7"))
    print(
        f"{'{size} for a chunk of 1000 cards':40s} {len(sizes):>8d} known  {seconds * 1000:8.1f} ms"
    )


if __name__ == "__main__":
    main()
