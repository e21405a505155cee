"""Looking up cards and rendering their passes."""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import RowMapping, bindparam, func, select
from sqlalchemy.orm import Session

from app.bounds import CONTROL_MESSAGE, has_control_characters
from app.clock import Clock
from app.loyalty.errors import UnknownCardError, ValidationError
from app.loyalty.models import Card, Member, Program, Store, Tier
from app.passes.apple.builder import PkpassBuilder, SignedParts
from app.passes.content import (
    MAX_LOCATIONS,
    CardContent,
    Location,
    PassFacts,
    all_locations,
    card_content,
    content_of_facts,
    nearest,
)
from app.passes.models import WalletPass
from app.passes.sync import mark_card_changed
from app.passes.templates import PassTemplate, TemplateStore, with_images, with_texts
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.models import Receipt


def card_by_public_id(session: Session, public_id: str) -> Card:
    card = session.scalar(select(Card).where(Card.public_id == public_id))
    if card is None:
        raise UnknownCardError()
    return card


def card_by_id(session: Session, card_id: int) -> Card:
    card = session.get(Card, card_id)
    if card is None:
        raise UnknownCardError()
    return card


def wallet_pass_of(session: Session, card: Card) -> WalletPass:
    wallet_pass = session.scalar(
        select(WalletPass).where(WalletPass.card_id == card.id, WalletPass.voided_at.is_(None))
    )
    if wallet_pass is None:
        raise UnknownCardError()
    return wallet_pass


def content_of(
    session: Session, card: Card, templates: TemplateStore, wallet_pass: WalletPass | None = None
) -> CardContent:
    """What the card's live pass shows (or ``wallet_pass``, e.g. a voided old one)."""
    wallet_pass = wallet_pass or wallet_pass_of(session, card)
    locations = _locations_of_card(session, card.id, all_locations(card.program))
    return card_content(card, wallet_pass, template_of(card.program, templates), locations)


def _locations_of_card(
    session: Session, card_id: int, locations: tuple[Location, ...]
) -> tuple[Location, ...]:
    """The card's ten stores: when the program has more, the ten nearest the store of
    the card's latest purchase (one more statement, only for such programs)."""
    if len(locations) <= MAX_LOCATIONS:
        return locations
    row = session.execute(
        select(Store.latitude, Store.longitude)
        .join(Receipt, Receipt.store_id == Store.id)
        .where(Receipt.card_id == card_id, Store.latitude.is_not(None))
        .order_by(Receipt.created_at.desc())
        .limit(1)
    ).first()
    near = None
    if row is not None and row[0] is not None and row[1] is not None:
        near = (float(row[0]), float(row[1]))
    return nearest(locations, near)


def template_of(program: Program, templates: TemplateStore) -> PassTemplate:
    """The program's template with its own (published) texts and images applied."""
    own = {image.name: image.png for image in program.images}
    return customised(templates.get(program.template), program.card_texts, own, f"p{program.id}")


def customised(
    template: PassTemplate, texts: dict[str, Any] | None, images: dict[str, bytes], prefix: str
) -> PassTemplate:
    """``template`` with ``texts`` and ``images`` over its own; the image set is named by
    ``prefix`` and a hash of the pictures (the signer prepares each set once)."""
    template = with_texts(template, texts)
    if not images:
        return template
    digest = hashlib.sha1(usedforsecurity=False)
    for name in sorted(images):
        digest.update(name.encode() + b"\0" + images[name])
    return with_images(template, images, f"{prefix}-{digest.hexdigest()}")


def apple_pass(
    session: Session, card: Card, builder: PkpassBuilder, templates: TemplateStore
) -> bytes:
    return builder.build(content_of(session, card, templates), template_of(card.program, templates))


# What every card of a program shares (template with the program's texts and images, and
# store locations), per TemplateStore (one per Services) and keyed by program id and
# ``Program.pass_revision``: a program costs its template's images once more (the logo,
# icon and strip sets, tens of KB) plus ten locations. Bounded per store of templates.
_SHARED_MAX = 64
_shared: weakref.WeakKeyDictionary[TemplateStore, OrderedDict[tuple[object, ...], _Shared]] = (
    weakref.WeakKeyDictionary()
)
_shared_lock = threading.Lock()


@dataclass(frozen=True)
class _Shared:
    template: PassTemplate
    locations: tuple[Location, ...]


# The fetch path's one statement: plain columns named as ``PassFacts`` fields, plus what
# finds the program's shared parts. Run on the session's connection, without the ORM:
# building five objects, and the ORM's execution of even a plain select, took 0.55 of
# the statement's 1.1 ms CPU (SQLite, 300 cards).
_FACTS = (
    Card.number,
    Card.barcode_secret,
    Card.balance,
    Card.status,
    func.coalesce(Card.offer_en, Program.offer_en).label("offer_en"),
    func.coalesce(Card.offer_ru, Program.offer_ru).label("offer_ru"),
    Member.name.label("member_name"),
    Member.locale.label("member_locale"),
    Tier.discount_bp.label("tier_discount_bp"),
    Tier.name_en.label("tier_name_en"),
    Tier.name_ru.label("tier_name_ru"),
    WalletPass.serial_number,
    WalletPass.auth_token,
    WalletPass.updated_at,
    WalletPass.voided_number,
    Program.brand_name,
    Program.default_locale,
    Program.background_color,
    Program.foreground_color,
    Program.label_color,
    Program.registration_bonus,
    Program.birthday_bonus,
    Program.terms_url,
    Program.website_url,
    Program.support_phone,
)
_PASS_OF_CARD = (
    select(
        Card.id.label("card_id"),
        Program.id.label("program_id"),
        Program.pass_revision,
        Program.template,
        Program.card_texts,
        WalletPass.last_modified,
        *_FACTS,
    )
    .join(WalletPass, WalletPass.card_id == Card.id)
    .join(Member, Member.id == Card.member_id)
    .join(Tier, Tier.id == Card.tier_id)
    .join(Program, Program.id == Card.program_id)
)
_FACT_NAMES = tuple(f.name for f in fields(PassFacts))
_LIVE_PASS_OF_CARD = _PASS_OF_CARD.where(
    Card.id == bindparam("card_id"), WalletPass.voided_at.is_(None)
)
_PASS_BY_ID = _PASS_OF_CARD.where(WalletPass.id == bindparam("pass_id"))


def _shared_of(session: Session, row: RowMapping, templates: TemplateStore) -> _Shared:
    key = (
        row["program_id"],
        row["pass_revision"],
        row["template"],
        json.dumps(row["card_texts"], sort_keys=True),
    )
    with _shared_lock:
        per_store = _shared.setdefault(templates, OrderedDict())
        found = per_store.get(key)
        if found is not None:
            per_store.move_to_end(key)
            return found
    # A miss reads the program, its images and stores.
    program = session.get(Program, row["program_id"])
    assert program is not None  # joined a moment ago in this transaction
    found = _Shared(template_of(program, templates), all_locations(program))
    with _shared_lock:
        per_store[key] = found
        while len(per_store) > _SHARED_MAX:
            per_store.popitem(last=False)
    return found


def apple_pass_of_card(
    session: Session, card_id: int, builder: PkpassBuilder, templates: TemplateStore
) -> bytes:
    """The signed pass of a card, read in one statement (card, pass, member, tier and
    program together) when the program's shared parts are cached: the path every
    phone takes after a push."""
    row = session.connection().execute(_LIVE_PASS_OF_CARD, {"card_id": card_id}).mappings().first()
    return _built(session, row, builder, templates)


def apple_pass_by_id(
    session: Session, pass_id: int, builder: PkpassBuilder, templates: TemplateStore
) -> bytes:
    """The signed pass ``pass_id`` (a replaced card's old pass renders voided)."""
    row = session.connection().execute(_PASS_BY_ID, {"pass_id": pass_id}).mappings().first()
    return _built(session, row, builder, templates)


def signed_parts_by_id(
    session: Session, pass_id: int, builder: PkpassBuilder, templates: TemplateStore
) -> tuple[int, SignedParts]:
    """The pass's ``last_modified`` and its signed parts, from one read of its row followed
    by reads of what it shares with its program: a change after that read moves the
    pass past this ``last_modified``, so the parts never stand for a later version."""
    row = session.connection().execute(_PASS_BY_ID, {"pass_id": pass_id}).mappings().first()
    content, template = _content_of_row(session, row, templates)
    assert row is not None  # _content_of_row raised otherwise
    return row["last_modified"], builder.sign_parts(content, template)


def _built(
    session: Session,
    row: RowMapping | None,
    builder: PkpassBuilder,
    templates: TemplateStore,
) -> bytes:
    return builder.build(*_content_of_row(session, row, templates))


def _content_of_row(
    session: Session, row: RowMapping | None, templates: TemplateStore
) -> tuple[CardContent, PassTemplate]:
    if row is None:
        raise UnknownCardError()
    shared = _shared_of(session, row, templates)
    locations = _locations_of_card(session, row["card_id"], shared.locations)
    facts = PassFacts(**{name: row[name] for name in _FACT_NAMES})
    return content_of_facts(facts, shared.template, locations), shared.template


def card_numbered(session: Session, program_id: int, number: str) -> Card | None:
    """The program's card of exactly this number (None: no such card)."""
    return session.scalar(select(Card).where(Card.program_id == program_id, Card.number == number))


def find_by_number(session: Session, program_id: int, number: str) -> Card:
    card = card_numbered(session, program_id, "".join(number.split()))
    if card is None:
        raise UnknownCardError()
    return card


def set_tier(
    session: Session,
    clock: Clock,
    card: Card,
    tier_code: str,
    reason: str | None,
    actor: StaffUser | str = "cli",
) -> Tier:
    """Move a card to another tier. Staff-assigned tiers (e.g. "large family") need
    a reason, kept on the card; the pass shows the new discount."""
    tier = next((t for t in card.program.tiers if t.code == tier_code), None)
    if tier is None:
        codes = ", ".join(t.code for t in card.program.tiers)
        raise ValidationError({"tier": f"unknown tier {tier_code!r} (one of: {codes})"})
    reason = (reason or "").strip() or None
    if reason is not None and has_control_characters(reason):
        raise ValidationError({"reason": CONTROL_MESSAGE})
    if tier.staff_assigned and reason is None:
        raise ValidationError({"reason": f"tier {tier_code!r} is set by staff and needs a reason"})
    if card.tier_id != tier.id:
        card.tier_id = tier.id
        card.tier = tier
        card.tier_reason = reason
        session.flush()
        mark_card_changed(session, clock, card.id)
        audit(
            session,
            clock,
            actor,
            "card.tier_set",
            card.number,
            {"tier": tier_code, "reason": reason},
        )
    return tier
