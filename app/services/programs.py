"""Finding programs, and the demo program that mirrors the case study."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import lock_for_update
from app.loyalty.errors import UnknownProgramError
from app.loyalty.models import Program, Store, Tier

DEMO_SLUG = "demo"


def get_program(session: Session, slug: str) -> Program:
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise UnknownProgramError(slug)
    return program


def lock_program(session: Session, program: Program) -> Program:
    """The program row locked until the transaction ends, re-read with its card draft
    and images: edits of one program's draft happen one at a time. PostgreSQL takes a
    row lock; on SQLite the writing transaction already holds the write lock."""
    stmt = select(Program).where(Program.id == program.id)
    if lock_for_update(session):
        stmt = stmt.with_for_update()
    locked = session.scalars(stmt.execution_options(populate_existing=True)).one()
    session.expire(locked, ["image_drafts", "images"])
    return locked


def seed_demo(session: Session, clock: Clock) -> Program:
    """Create the demo program unless it exists: 7 % base discount, a 15 % "large
    family" tier set by staff, 2 000 points for installing the card (paid at the
    install), 5 000 on the birthday. Returns the program either way."""
    existing = session.scalar(select(Program).where(Program.slug == DEMO_SLUG))
    if existing is not None:
        return existing
    program = Program(
        slug=DEMO_SLUG,
        brand_name="Little Steps",
        name="Little Steps Friends Club",
        template="demo",
        default_locale="ru",
        phone_region="RU",
        timezone="Europe/Moscow",
        currency="RUB",
        background_color="#1F3A5F",
        foreground_color="#FFFFFF",
        label_color="#FFD166",
        registration_bonus=2000,
        registration_bonus_days=90,
        # The demo pays at the install so `make run` shows the points at once; a chain
        # fighting bonus farming switches to "on_first_purchase" on the rules page.
        install_bonus_when="on_install",
        birthday_bonus=5000,
        birthday_bonus_days=30,
        earn_rate_bp=500,
        max_redeem_share_bp=3000,
        points_validity_days=365,
        offer_en="Welcome! Your card is ready: 7 % off from today.",
        offer_ru="Добро пожаловать! Скидка 7 % уже действует.",
        terms_url="https://example.com/little-steps/terms",
        website_url="https://example.com/little-steps",
        support_phone="+7 800 000-00-00",
        created_at=clock.now(),
    )
    program.tiers = [
        Tier(code="base", name_en="Friend", name_ru="Друг", discount_bp=700, is_default=True),
        Tier(
            code="large_family",
            name_en="Large family",
            name_ru="Многодетная семья",
            discount_bp=1500,
            staff_assigned=True,
        ),
    ]
    program.stores = [
        Store(
            code="msk-tverskaya",
            name="Little Steps Tverskaya",
            address="Tverskaya St 7, Moscow",
            latitude=55.7579,
            longitude=37.6129,
            relevant_text_en="Little Steps is nearby: show your card at the till",
            relevant_text_ru="«Маленькие шаги» рядом: покажите карту на кассе",
        ),
    ]
    session.add(program)
    session.flush()
    return program
