"""Google Wallet use cases: what the class and objects say, saves and removals from
callbacks, and which passes owe Google an update.

REST calls happen in the worker or between transactions of the entry point; the
functions here only read and write the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import Card, Program
from app.passes.google import objects
from app.passes.google.callbacks import CallbackMessage
from app.passes.models import GoogleCallbackNonce, GoogleObject, WalletPass
from app.passes.templates import TemplateStore
from app.services import cards, wallet_counts, wallet_events
from app.services.installs import record_install

GOOGLE = wallet_events.GOOGLE_WALLET


def program_look(
    program: Program, templates: TemplateStore, public_url: str
) -> objects.ProgramLook:
    template = cards.template_of(program, templates)
    images = f"{public_url}/programs/{program.slug}/images"
    # Google copies an image once per address: a new picture needs a new address.
    version = f"?v={template.images_key.rsplit('-', 1)[-1][:12]}" if template.images_key else ""
    return objects.ProgramLook(
        program_slug=program.slug,
        issuer_name=program.brand_name,
        program_name=program.name,
        logo_url=f"{images}/logo@3x.png{version}",
        hero_image_url=f"{images}/strip@3x.png{version}"
        if "strip@3x.png" in template.images
        else None,
        background_color=program.background_color,
        callback_url=f"{public_url}/google/callbacks"
        if public_url.startswith("https://")
        else None,
        locations=tuple(
            (s.latitude, s.longitude)
            for s in program.stores
            if s.latitude is not None and s.longitude is not None
        ),
        locale=program.default_locale,
        account_name_label=template.labels.get("member"),
        account_id_label=template.labels.get("number"),
    )


@dataclass(frozen=True)
class Bodies:
    pass_id: int
    version: int
    class_body: dict[str, Any]
    object_body: dict[str, Any]


def bodies(
    session: Session,
    card: Card,
    templates: TemplateStore,
    issuer_id: str,
    public_url: str,
    wallet_pass: WalletPass | None = None,
) -> Bodies:
    """The class and object of the card's live pass, or of ``wallet_pass`` (the voided
    old pass of a replaced card goes INACTIVE with its old number)."""
    wallet_pass = wallet_pass or cards.wallet_pass_of(session, card)
    content = cards.content_of(session, card, templates, wallet_pass)
    return Bodies(
        wallet_pass.id,
        wallet_pass.version,
        objects.loyalty_class(issuer_id, program_look(card.program, templates, public_url)),
        objects.loyalty_object(
            issuer_id,
            card.program.slug,
            content,
            # An erased member's card expires (Google moves it to "expired passes").
            state="EXPIRED" if card.status == "erased" else "ACTIVE",
            rotating_totp_key_hex=card.totp_secret if card.program.rotating_barcode else None,
        ),
    )


def record_object(
    session: Session, clock: Clock, pass_id: int, object_id: str, version: int
) -> None:
    """The object exists at Google with the content of ``version``."""
    row = session.scalar(select(GoogleObject).where(GoogleObject.pass_id == pass_id))
    if row is None:
        session.add(GoogleObject(pass_id=pass_id, object_id=object_id, created_at=clock.now()))
    delivered(session, {pass_id: version})


def delivered(session: Session, versions: dict[int, int]) -> None:
    for pass_id, version in versions.items():
        session.execute(
            update(WalletPass)
            .where(WalletPass.id == pass_id, WalletPass.google_delivered_version < version)
            .values(google_delivered_version=version)
        )


def owed(session: Session, pass_ids: list[int]) -> list[int]:
    """Passes of these with an object at Google that has not seen the current version."""
    return list(
        session.scalars(
            select(WalletPass.id)
            .join(GoogleObject, GoogleObject.pass_id == WalletPass.id)
            .where(
                WalletPass.id.in_(pass_ids),
                WalletPass.version > WalletPass.google_delivered_version,
                GoogleObject.removed_at.is_(None),
            )
        )
    )


def card_of_pass(session: Session, pass_id: int) -> Card:
    wallet_pass = session.get(WalletPass, pass_id)
    assert wallet_pass is not None
    return wallet_pass.card


def bodies_of_pass(
    session: Session, pass_id: int, templates: TemplateStore, issuer_id: str, public_url: str
) -> Bodies:
    wallet_pass = session.get(WalletPass, pass_id)
    assert wallet_pass is not None
    return bodies(session, wallet_pass.card, templates, issuer_id, public_url, wallet_pass)


def handle_callback(session: Session, clock: Clock, message: CallbackMessage) -> str:
    """Apply a verified save/delete callback once; returns what happened."""
    try:
        with session.begin_nested():
            session.add(GoogleCallbackNonce(nonce=message.nonce, received_at=clock.now()))
    except IntegrityError:
        return "duplicate"
    row = session.scalar(select(GoogleObject).where(GoogleObject.object_id == message.object_id))
    if row is None:
        return "unknown_object"
    card_id = session.scalar(select(WalletPass.card_id).where(WalletPass.id == row.pass_id))
    assert card_id is not None
    now: datetime = clock.now()
    in_wallet = row.saved_at is not None and row.removed_at is None
    if message.event_type == "save":
        if not in_wallet:
            wallet_events.record(
                session, clock, GOOGLE, wallet_events.INSTALL, row.pass_id, reason="google_save"
            )
            wallet_counts.place(session, [(row.pass_id, GOOGLE, 1)])
        row.saved_at, row.removed_at = now, None
        record_install(session, clock, card_id, "google")
        return "saved"
    if message.event_type == "del":
        if in_wallet:
            wallet_events.record(
                session, clock, GOOGLE, wallet_events.REMOVAL, row.pass_id, reason="google_delete"
            )
            wallet_counts.place(session, [(row.pass_id, GOOGLE, -1)])
        row.removed_at = now
        return "removed"
    return "ignored"


def stale(
    session: Session, now: datetime, older_than: timedelta, limit: int = 100_000
) -> list[int]:
    """Passes whose change Google has not seen for longer than ``older_than``."""
    return list(
        session.scalars(
            select(WalletPass.id)
            .join(GoogleObject, GoogleObject.pass_id == WalletPass.id)
            .where(
                WalletPass.version > WalletPass.google_delivered_version,
                GoogleObject.removed_at.is_(None),
                WalletPass.updated_at <= now - older_than,
            )
            .limit(limit)
        )
    )
