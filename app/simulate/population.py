"""Many registered cards at once, with set-based inserts (benchmarks and tests).

Each card gets a member, a wallet pass (``version`` with ``delivered`` already
pushed) and one registered iPhone with the given push token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db import new_public_id
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.services import wallet_counts

BATCH = 10_000


def _insert(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def registered_passes(
    session: Session,
    program: Program,
    tokens: Sequence[str],
    now: datetime,
    *,
    version: int = 1,
    delivered: int = 1,
    stage: str | None = None,
) -> list[int]:
    """Returns the pass ids, in the order of ``tokens``."""
    n = len(tokens)
    first = (session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1)) or 0) + 1
    _insert(
        session,
        Member,
        [
            {
                "program_id": program.id,
                "phone": f"+7905{first + i:07d}",
                "name": "Member",
                "locale": "ru",
                "marketing_consent": True,
                "stage": stage,
                "created_at": now,
            }
            for i in range(n)
        ],
    )
    members = session.scalars(select(Member.id).where(Member.id >= first).order_by(Member.id)).all()
    _insert(
        session,
        Card,
        [
            {
                "public_id": new_public_id(),
                "program_id": program.id,
                "member_id": m,
                "number": f"9{first + i:012d}",
                "barcode_secret": "X" * 10,
                "tier_id": program.default_tier.id,
                "balance": 0,
                "status": "active",
                "apple_installed_at": now,
                "created_at": now,
            }
            for i, m in enumerate(members)
        ],
    )
    cards = session.scalars(
        select(Card.id).where(Card.member_id.in_(members)).order_by(Card.id)
    ).all()
    _insert(
        session,
        WalletPass,
        [
            {
                "card_id": c,
                "serial_number": new_public_id(),
                "auth_token": "t" * 24,
                "version": version,
                "apns_delivered_version": delivered,
                "updated_at": now,
                "last_modified": 0,
                "created_at": now,
            }
            for c in cards
        ],
    )
    passes = session.scalars(
        select(WalletPass.id).where(WalletPass.card_id.in_(cards)).order_by(WalletPass.id)
    ).all()
    _insert(
        session,
        AppleDevice,
        [
            {
                "library_id": f"dev-{t[:24]}-{i}",
                "push_token": t,
                "created_at": now,
                "updated_at": now,
            }
            for i, t in enumerate(tokens)
        ],
    )
    devices = session.scalars(
        select(AppleDevice.id)
        .where(AppleDevice.push_token.in_(list(tokens)) if n <= 30_000 else AppleDevice.id > 0)
        .order_by(AppleDevice.id)
    ).all()[-n:]
    _insert(
        session,
        AppleRegistration,
        [
            {"device_id": d, "pass_id": p, "created_at": now}
            for d, p in zip(devices, passes, strict=True)
        ],
    )
    wallet_counts.rebuild(session, program)  # rows written around the PassKit service
    return list(passes)
