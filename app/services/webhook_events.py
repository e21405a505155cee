"""Emitting webhook events, and the outbox the worker delivers from.

``emit`` writes one delivery per subscribed, enabled endpoint of the program in the
caller's transaction (so a rolled-back transaction delivers nothing) and notes the ids
in ``session.info``; bootstrap enqueues them after the commit. Payloads carry ids and
figures, never a card's link id, barcode secret or pass token, and no personal fields
(docs/webhooks.md lists every field).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import new_public_id
from app.loyalty.models import Card, Program
from app.passes.models import WalletPass
from app.webhooks import rules
from app.webhooks.models import DELIVERED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint
from app.webhooks.sender import Answer, Outgoing


def subscribers(session: Session, program_id: int, event_type: str) -> list[int]:
    """Ids of the program's enabled endpoints that want this event."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.program_id == program_id, WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    return [id_ for id_, events in rows if event_type in events.split(",")]


def emit(
    session: Session, clock: Clock, program: Program, event_type: str, data: dict[str, Any]
) -> int:
    """Queue the event for every endpoint that wants it; returns how many deliveries."""
    if event_type not in rules.EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = subscribers(session, program.id, event_type)
    if not endpoints:
        return 0
    now = clock.now()
    event_id = new_public_id()
    body = json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": now.isoformat(),
            "program": program.slug,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            body=body,
            status=PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            retry_until=now + rules.RETRY_FOR,
        )
        for endpoint_id in endpoints
    ]
    session.add_all(rows)
    session.flush()
    note_new(session, [r.id for r in rows])
    return len(rows)


def note_new(session: Session, delivery_ids: Iterable[int]) -> None:
    session.info.setdefault(rules.NEW_DELIVERIES, []).extend(delivery_ids)


def card_fields(card: Card) -> dict[str, Any]:
    """How a payload names a card: its number (printed on it, useless without the
    barcode secret) and the member's id."""
    return {"card_number": card.number, "member_id": card.member_id}


def emit_for_passes(
    session: Session,
    clock: Clock,
    event_type: str,
    items: Sequence[tuple[int | None, str, str]],
) -> int:
    """card.installed / card.removed for (pass id, wallet app, reason) items."""
    pass_ids = {p for p, _, _ in items if p is not None}
    if not pass_ids:
        return 0
    cards = {
        pass_id: card
        for pass_id, card in session.execute(
            select(WalletPass.id, Card)
            .join(Card, Card.id == WalletPass.card_id)
            .where(WalletPass.id.in_(pass_ids))
        ).all()
    }
    sent = 0
    for pass_id, wallet_app, reason in items:
        card = cards.get(pass_id) if pass_id is not None else None
        if card is None:
            continue
        data = {**card_fields(card), "wallet_app": wallet_app, "reason": reason}
        sent += emit(session, clock, card.program, event_type, data)
    return sent


# --- the outbox, as the worker reads and writes it ---------------------------------


def claim(session: Session, now: datetime, delivery_ids: Sequence[int]) -> list[Outgoing]:
    """Take the due, pending deliveries among ``delivery_ids`` of enabled endpoints for
    one try (leased for a few minutes, so a second task or the sweep skips them)."""
    if not delivery_ids:
        return []
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    claimed = session.scalars(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(list(delivery_ids)),
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.in_(enabled),
        )
        .values(next_attempt_at=now + rules.LEASE)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    rows = session.execute(
        select(
            WebhookDelivery.id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.body,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(claimed))
        .order_by(WebhookDelivery.id)
    ).all()
    return [Outgoing(r[0], r[1], r[2], r[3], r[4], r[5].encode()) for r in rows]


@dataclass(frozen=True)
class Recorded:
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0
    disabled: tuple[int, ...] = ()  # endpoints turned off by this record


def record(session: Session, clock: Clock, answers: Sequence[Answer]) -> Recorded:
    """Write each try's outcome; schedule the next try or give up; an endpoint failing
    for a day is disabled (its pending deliveries end as failed)."""
    now = clock.now()
    counts = {"delivered": 0, "retrying": 0, "given_up": 0}
    touched: dict[int, bool] = {}  # endpoint id -> answered 2xx at least once now
    for answer in answers:
        delivery = session.get(WebhookDelivery, answer.delivery_id)
        if delivery is None:
            continue
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status = answer.status
        delivery.error = answer.error[:200] if answer.error else None
        delivery.response_excerpt = answer.excerpt
        if answer.ok:
            delivery.status, delivery.delivered_at, delivery.error = DELIVERED, now, None
            counts["delivered"] += 1
        else:
            if delivery.error is None:
                delivery.error = f"HTTP {answer.status}"
            later = rules.next_attempt(now, delivery.attempts, delivery.retry_until)
            if later is None:
                delivery.status = FAILED
                counts["given_up"] += 1
            else:
                delivery.next_attempt_at = later
                counts["retrying"] += 1
        touched[delivery.endpoint_id] = touched.get(delivery.endpoint_id, False) or answer.ok
    disabled = []
    for endpoint_id, ok in touched.items():
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            continue
        if ok:
            endpoint.failing_since = None
            continue
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and now - endpoint.failing_since >= rules.DISABLE_AFTER:
            disable_failing(session, endpoint, now)
            disabled.append(endpoint_id)
    session.flush()
    return Recorded(**counts, disabled=tuple(disabled))


def disable_failing(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, "failures", now
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, error="the endpoint was disabled after a day of failures")
        .execution_options(synchronize_session=False)
    )


def due(session: Session, now: datetime, limit: int = 5000) -> list[int]:
    """Pending deliveries of enabled endpoints whose time has come (for the sweep)."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


def purge(session: Session, now: datetime) -> int:
    """Delete finished deliveries older than the log keeps them."""
    result = session.execute(
        delete(WebhookDelivery)
        .where(
            WebhookDelivery.created_at < now - rules.KEEP_FOR,
            WebhookDelivery.status != PENDING,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
