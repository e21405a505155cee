"""Segments by receipt lines (category, size, SKU within N days, and their negation) and
offers naming the member's size, on SQLite and PostgreSQL, from purchases recorded by the
till as a POS sends them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.sizes import favourite_sizes
from app.loyalty import rules
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.services import campaigns, terminals, till
from app.services.programs import seed_demo
from app.till.models import Terminal
from app.worker import handlers
from tests.helpers import fixed_clock, population


def buy(
    session: Session,
    services: Services,
    terminal: Terminal,
    card: Card,
    days_ago: int,
    *lines: dict[str, Any],
) -> None:
    now = services.clock.now()
    fixed_clock(services).set(now - timedelta(days=days_ago))
    try:
        key = f"r-{card.id}-{days_ago}"
        req = till.PurchaseRequest(
            receipt_id=key,
            amount=1000,
            barcode=rules.barcode_value(card.number, card.barcode_secret),
            lines=list(lines),
        )
        till.record_purchase(session, services.clock, terminal, req, key)
    finally:
        fixed_clock(services).set(now)


def dress(size: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "sku": f"D-{size}",
        "name": "Dress",
        "category": "dresses",
        "size": size,
        "quantity": quantity,
        "price": 1000,
    }


def history(session: Session, services: Services, demo: Program) -> list[Card]:
    """A: dress 110 ten days ago, shoes 30 a hundred days ago. B: two dresses 116 forty
    days ago, one dress 110 five days ago. C: socks (no size) two days ago. D: nothing."""
    cards = population(session, services, demo, 4)
    for card in cards:  # numbers a till can scan (with their check digit)
        card.number = f"{card.id:012d}" + rules.luhn_check_digit(f"{card.id:012d}")
    terminal = terminals.add_terminal(session, services.clock, demo, "T")[0]
    a, b, c, _ = cards
    buy(session, services, terminal, a, 10, dress("110"))
    buy(session, services, terminal, a, 100, {"sku": "S-30", "category": "shoes", "size": "30"})
    buy(session, services, terminal, b, 40, dress("116", quantity=2))
    buy(session, services, terminal, b, 5, dress("110"))
    buy(session, services, terminal, c, 2, {"sku": "SOCK-1", "category": "socks", "quantity": 3})
    session.commit()
    return cards


def test_segments_by_what_people_bought(real_services: Services) -> None:
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        session.commit()
        a, b, c, d = history(session, services, demo)
        now = services.clock.now()

        def members(segment: dict[str, Any]) -> set[int]:
            from app.campaigns.segments import Segment, card_ids
            from app.services.wallet_stats import card_in_wallet

            query = card_ids(demo.id, Segment.from_json(segment), now, card_in_wallet)
            found = set(session.scalars(query))
            assert campaigns.segment_size(session, demo, segment, now) == len(found)
            return found

        dresses = {"category": "dresses", "within_days": 30}
        assert members({"bought": [dresses]}) == {a.id, b.id}
        assert members({"not_bought": [dresses]}) == {c.id, d.id}
        assert members({"bought": [{"category": "dresses", "size": "116"}]}) == {b.id}
        # B's 116 was forty days ago: not within thirty.
        assert members({"bought": [{"size": "116", "within_days": 30}]}) == set()
        assert members({"bought": [{"sku": "SOCK-1"}]}) == {c.id}
        assert members({"bought": [{"category": "shoes", "within_days": 30}]}) == set()
        assert members({"bought": [{"category": "shoes", "within_days": 120}]}) == {a.id}
        assert members({"bought": [dresses], "not_bought": [{"size": "116"}]}) == {a.id}
        assert members({"not_bought": [{"category": "dresses"}, {"category": "socks"}]}) == {d.id}
        with pytest.raises(ValidationError) as refused:
            campaigns.segment_size(
                session, demo, {"bought": [{"within_days": 3}, {"colour": "red"}]}, now
            )
        assert set(refused.value.fields) == {
            "segment.bought[0]",
            "segment.bought[1]",
            "segment.bought[1].colour",
        }
        # The most frequent size: B bought two 116s and one 110; C's socks have no size.
        ids = [a.id, b.id, c.id, d.id]
        assert favourite_sizes(session, ids, "dresses") == {a.id: "110", b.id: "116"}
        assert favourite_sizes(session, ids) == {
            a.id: "110",
            b.id: "116",
        }  # shoes 30 ties 110: later wins
        assert favourite_sizes(session, ids, "shoes") == {a.id: "30"}


def test_an_offer_names_each_members_size_or_falls_back(real_services: Services) -> None:
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        session.commit()
        a, b, c, d = history(session, services, demo)
        base = {
            "name": "Dresses",
            "offer_en": "New dresses in size {size}",
            "offer_ru": "Новые платья размера {size}",
            "segment": {},
            "holdout_percent": 0,
            "size_category": "dresses",
        }
        with pytest.raises(ValidationError) as refused:
            campaigns.create(session, services.clock, demo, campaigns.Draft(**base), "test")
        assert set(refused.value.fields) == {"offer_fallback_en", "offer_fallback_ru"}
        with pytest.raises(ValidationError) as refused:
            campaigns.create(
                session,
                services.clock,
                demo,
                campaigns.Draft(
                    **{
                        **base,
                        "offer_en": "Size {colour}",
                        "offer_fallback_en": "x",
                        "offer_fallback_ru": "Платья {size}",
                    }
                ),
                "test",
            )
        assert set(refused.value.fields) == {"offer_en", "offer_fallback_ru"}
        session.rollback()
        campaign = campaigns.create(
            session,
            services.clock,
            demo,
            campaigns.Draft(
                **base, offer_fallback_en="New dresses are in", offer_fallback_ru="Новые платья"
            ),
            "test",
        )
        session.commit()
        handlers.run_campaign(services, campaign.id)
        session.expire_all()
        offers = {card.id: (card.offer_en, card.offer_ru) for card in session.scalars(select(Card))}
        assert offers == {
            a.id: ("New dresses in size 110", "Новые платья размера 110"),
            b.id: ("New dresses in size 116", "Новые платья размера 116"),
            c.id: ("New dresses are in", "Новые платья"),
            d.id: ("New dresses are in", "Новые платья"),
        }
