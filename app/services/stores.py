"""A program's stores: where its tills stand (receipts carry the store), with a time
zone, and optional coordinates that make the card appear on the lock screen nearby
(Apple ``locations``, Google ``merchantLocations``, ten at most on a card: a card shows
the ten nearest the store of its latest purchase)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bounds import control_character_errors
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, Store
from app.passes.sync import mark_program_changed
from app.services.program_admin import is_timezone
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.models import Receipt, Terminal

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def add_store(
    session: Session, clock: Clock, program: Program, values: dict[str, str], actor: StaffUser | str
) -> Store:
    errors: dict[str, str] = {}
    code = values.get("code", "").strip().lower()
    if not CODE.match(code):
        errors["code"] = "1-40 lower-case letters, digits, - or _"
    elif session.scalar(select(Store.id).where(Store.program_id == program.id, Store.code == code)):
        errors["code"] = "is already used by another store"
    errors.update(
        control_character_errors(
            {k: values.get(k) for k in ("name", "address", "relevant_text_en", "relevant_text_ru")}
        )
    )
    name = " ".join(values.get("name", "").split())
    if not 1 <= len(name) <= 100:
        errors["name"] = "is required (up to 100 characters)"
    zone = values.get("timezone", "").strip()
    if zone and not is_timezone(zone):
        errors["timezone"] = (
            "must be empty (the program's) or a time zone such as Asia/Yekaterinburg"
        )
    coordinates: dict[str, float | None] = {"latitude": None, "longitude": None}
    raws = {f: values.get(f, "").strip().replace(",", ".") for f in coordinates}
    if any(raws.values()):
        for field, limit in (("latitude", 90.0), ("longitude", 180.0)):
            try:
                value = float(raws[field])
            except ValueError:
                errors[field] = "must be a number (decimal degrees), or both left empty"
                continue
            if not -limit <= value <= limit:
                errors[field] = f"must be between -{limit:g} and {limit:g}"
            coordinates[field] = value
    texts = {
        k: values.get(k, "").strip()[:100] or None for k in ("relevant_text_en", "relevant_text_ru")
    }
    if errors:
        raise ValidationError(errors)
    store = Store(
        program_id=program.id,
        code=code,
        name=name,
        address=values.get("address", "").strip()[:200] or None,
        timezone=zone or None,
        latitude=coordinates["latitude"],
        longitude=coordinates["longitude"],
        **texts,
    )
    session.add(store)
    session.flush()
    if store.latitude is not None:  # only a location shows on cards
        mark_program_changed(session, clock, program.id)
    audit(session, clock, actor, "store.added", f"{program.slug}/{code}", {"name": name})
    return store


def remove_store(
    session: Session, clock: Clock, program: Program, code: str, actor: StaffUser | str
) -> bool:
    store = session.scalar(select(Store).where(Store.program_id == program.id, Store.code == code))
    if store is None:
        return False
    in_use = session.scalar(
        select(func.count())
        .select_from(Terminal)
        .where(Terminal.store_id == store.id, Terminal.revoked_at.is_(None))
    ) or session.scalar(select(Receipt.id).where(Receipt.store_id == store.id).limit(1))
    if in_use:
        raise ValidationError(
            {"store": "has tills or receipts: revoke its tills; a store with receipts stays"}
        )
    located = store.latitude is not None
    session.delete(store)
    session.flush()
    if located:
        mark_program_changed(session, clock, program.id)
    audit(session, clock, actor, "store.removed", f"{program.slug}/{code}")
    return True


def list_stores(session: Session, program: Program) -> list[Store]:
    return list(
        session.scalars(select(Store).where(Store.program_id == program.id).order_by(Store.code))
    )
