"""Looking up cards and rendering their passes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.loyalty.errors import UnknownCardError
from app.loyalty.models import Card
from app.passes.apple.builder import PkpassBuilder
from app.passes.content import CardContent, card_content
from app.passes.models import WalletPass
from app.passes.templates import TemplateStore


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
    wallet_pass = session.scalar(select(WalletPass).where(WalletPass.card_id == card.id))
    if wallet_pass is None:
        raise UnknownCardError()
    return wallet_pass


def content_of(session: Session, card: Card, templates: TemplateStore) -> CardContent:
    return card_content(card, wallet_pass_of(session, card), templates.get(card.program.template))


def apple_pass(
    session: Session, card: Card, builder: PkpassBuilder, templates: TemplateStore
) -> bytes:
    return builder.build(content_of(session, card, templates))
