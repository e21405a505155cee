"""Passes signed ahead of the fetch (``PassRendering``).

A push makes every phone holding the pass fetch it within seconds. Rendering and signing
it in that request costs three times the If-Modified-Since check; the worker signs it
just before it pushes, so the burst of fetches is served from one read. A rendering is
only served for the very version and signing certificate it was made for; anything else
(an older rendering, a pass that changed since, a phone offline for days) is rendered
live as before.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import upsert
from app.passes.apple.builder import PkpassBuilder, SignedParts
from app.passes.apple.bundle import pack_files, unpack_files
from app.passes.models import PassRendering, WalletPass
from app.passes.templates import TemplateStore
from app.services import cards

log = logging.getLogger(__name__)

# Phones fetch within seconds of the push; one offline longer gets a live render.
KEEP = timedelta(days=1)

_SERVED = select(PassRendering.files, PassRendering.image_set).where(
    PassRendering.pass_id == bindparam("pass_id"),
    PassRendering.last_modified == bindparam("last_modified"),
    PassRendering.signer == bindparam("signer"),
)


def signed(
    session: Session, builder: PkpassBuilder, templates: TemplateStore, pass_ids: Iterable[int]
) -> dict[int, tuple[int, SignedParts]]:
    """Sign the passes that have no rendering of their current version yet (read-only,
    so a long batch holds no write lock): pass id -> (last_modified, parts). A pass that
    cannot be rendered is left out: the phone's fetch renders it live and marks it."""
    ids = set(pass_ids)
    current = session.scalars(
        select(PassRendering.pass_id)
        .join(WalletPass, WalletPass.id == PassRendering.pass_id)
        .where(
            PassRendering.pass_id.in_(ids),
            PassRendering.last_modified == WalletPass.last_modified,
            PassRendering.signer == builder.signer_fingerprint,
        )
    )
    out: dict[int, tuple[int, SignedParts]] = {}
    for pass_id in sorted(ids - set(current)):
        try:
            out[pass_id] = cards.signed_parts_by_id(session, pass_id, builder, templates)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # the pass's own trouble: the fetch path deals with it
            log.info("pass %d not signed ahead: %s", pass_id, type(exc).__name__)
    return out


def store(
    session: Session, now: datetime, signer: str, made: dict[int, tuple[int, SignedParts]]
) -> None:
    """Keep what ``signed`` made (one row per pass: a newer version replaces the older).
    A pass that changed meanwhile is skipped: its rendering could never be served, and
    may show what the change removed (an erased member's name)."""
    if not made:
        return
    current: dict[int, int] = {
        pass_id: last_modified
        for pass_id, last_modified in session.execute(
            select(WalletPass.id, WalletPass.last_modified).where(WalletPass.id.in_(made))
        )
    }
    rows = [
        {
            "pass_id": pass_id,
            "last_modified": last_modified,
            "signer": signer,
            "image_set": parts.image_set,
            "files": pack_files(parts.files),
            "rendered_at": now,
        }
        for pass_id, (last_modified, parts) in made.items()
        if current.get(pass_id) == last_modified
    ]
    if not rows:
        return
    insert = upsert(session, PassRendering)
    fresher = insert.excluded.last_modified >= PassRendering.last_modified
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[PassRendering.pass_id],
            set_={
                name: insert.excluded[name]
                for name in ("last_modified", "signer", "image_set", "files", "rendered_at")
            },
            # Two workers signing the same pass: the later version wins.
            where=fresher,
        ),
        rows,
    )


def served(
    conn: Connection, pass_id: int, last_modified: int, builder: PkpassBuilder
) -> bytes | None:
    """The pass signed ahead for exactly this version, or None (render it live)."""
    row = conn.execute(
        _SERVED,
        {"pass_id": pass_id, "last_modified": last_modified, "signer": builder.signer_fingerprint},
    ).first()
    if row is None:
        return None
    try:
        files = tuple(unpack_files(row.files))
    except (ValueError, struct.error):  # a damaged row: render live rather than fail
        log.warning("pass %d: its rendering signed ahead is unreadable", pass_id)
        return None
    return builder.assemble(SignedParts(files, row.image_set))


def forget_card(session: Session, card_id: int) -> None:
    """Drop the renderings of the card's passes (an erased member's name is in them)."""
    passes = select(WalletPass.id).where(WalletPass.card_id == card_id)
    session.execute(delete(PassRendering).where(PassRendering.pass_id.in_(passes)))


def prune(session: Session, now: datetime) -> int:
    """Drop renderings older than ``KEEP``; returns how many went."""
    result = session.execute(delete(PassRendering).where(PassRendering.rendered_at < now - KEEP))
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE
