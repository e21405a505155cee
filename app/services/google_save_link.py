"""The "Add to Google Wallet" button of a card page: the card's class and object are put
at Google (created, or brought up to date), the object recorded, and the shopper gets
Google's save link. Google is called between two short transactions, never inside one:
``transactions`` is the entry point's unit of work, which commits each of them."""

from __future__ import annotations

from app.clock import Clock
from app.db import Transactions
from app.passes.google.auth import ServiceAccount
from app.passes.google.client import GoogleWalletClient, GoogleWalletError
from app.passes.google.save_link import save_jwt, save_url
from app.passes.templates import TemplateStore
from app.services import cards, google_wallet

CONFLICT = 409  # the class exists already: it is updated with the object's push


def for_card(
    transactions: Transactions,
    clock: Clock,
    client: GoogleWalletClient,
    account: ServiceAccount,
    templates: TemplateStore,
    issuer_id: str,
    public_url: str,
    public_id: str,
) -> str:
    """Google's save page for the card ``public_id`` (an unknown card: UnknownCardError)."""
    with transactions(write=False) as session:
        card = cards.card_by_public_id(session, public_id)
        found = google_wallet.bodies(session, card, templates, issuer_id, public_url)
    try:
        client.insert_class(found.class_body)
    except GoogleWalletError as exc:
        if exc.status != CONFLICT:
            raise
    client.upsert_object(found.object_body)
    with transactions() as session:
        google_wallet.record_object(
            session, clock, found.pass_id, found.object_body["id"], found.version
        )
    jwt = save_jwt(
        account,
        origins=[public_url],
        objects=[{"id": found.object_body["id"], "classId": found.object_body["classId"]}],
        issued_at=int(clock.now().timestamp()),
    )
    return save_url(jwt)
