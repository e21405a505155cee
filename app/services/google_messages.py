"""Campaign texts for Google cards (``addMessage``), within Google's notification budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import Card, Member
from app.passes.google import objects
from app.passes.models import GoogleMessage, GoogleObject, WalletPass

NOTIFY_PER_DAY = 3  # Google's limit per pass per 24 h


def queue_messages(
    session: Session,
    clock: Clock,
    card_ids: list[int],
    key: str,
    header: dict[str, str],
    body: dict[str, str],
) -> int:
    """Owe a message to every Google card among these cards (saved, not removed)."""
    rows = (
        session.execute(
            select(WalletPass.id)
            .join(GoogleObject, GoogleObject.pass_id == WalletPass.id)
            .where(
                WalletPass.card_id.in_(card_ids),
                GoogleObject.removed_at.is_(None),
                GoogleObject.saved_at.is_not(None),
            )
        )
        .scalars()
        .all()
    )
    now = clock.now()
    for pass_id in rows:
        session.add(
            GoogleMessage(
                pass_id=pass_id,
                key=key,
                header_en=header["en"],
                header_ru=header["ru"],
                body_en=body["en"],
                body_ru=body["ru"],
                created_at=now,
            )
        )
    return len(rows)


@dataclass(frozen=True)
class OwedMessage:
    id: int
    object_id: str
    language: str
    notify: bool
    body: dict[str, Any]


def owed_messages(session: Session, pass_ids: list[int], now: datetime) -> list[OwedMessage]:
    """Unsent messages of these passes, each marked to notify while the pass has
    notifications left in the last 24 h (counting the ones planned in this batch)."""
    pending = session.execute(
        select(GoogleMessage, GoogleObject.object_id, Member.locale)
        .join(GoogleObject, GoogleObject.pass_id == GoogleMessage.pass_id)
        .join(WalletPass, WalletPass.id == GoogleMessage.pass_id)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(GoogleMessage.pass_id.in_(pass_ids), GoogleMessage.sent_at.is_(None))
        .order_by(GoogleMessage.id)
    ).all()
    used: dict[int, int] = {}
    out = []
    for message, object_id_, language in pending:
        if message.pass_id not in used:
            used[message.pass_id] = int(
                session.scalar(
                    select(func.count()).where(
                        GoogleMessage.pass_id == message.pass_id,
                        GoogleMessage.notified.is_(True),
                        GoogleMessage.sent_at > now - timedelta(hours=24),
                    )
                )
                or 0
            )
        notify = used[message.pass_id] < NOTIFY_PER_DAY
        used[message.pass_id] += notify
        out.append(
            OwedMessage(
                message.id,
                object_id_,
                language,
                notify,
                objects.message(
                    f"{message.key}-{message.id}",
                    {"en": message.header_en, "ru": message.header_ru},
                    {"en": message.body_en, "ru": message.body_ru},
                    language=language,
                    notify=notify,
                ),
            )
        )
    return out


def messages_sent(session: Session, now: datetime, sent: dict[int, bool]) -> None:
    for message_id, notified in sent.items():
        session.execute(
            update(GoogleMessage)
            .where(GoogleMessage.id == message_id)
            .values(sent_at=now, notified=notified)
        )
