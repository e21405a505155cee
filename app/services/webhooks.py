"""Managing a program's webhook endpoints (console and staff API), every change audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import new_public_id
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.push.relay_urls import OutboundUrlError, check_outbound_url
from app.services.staff import audit
from app.services.webhook_events import note_new
from app.staff.models import StaffUser
from app.webhooks import rules
from app.webhooks.models import DELIVERED, PENDING, WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS = 20  # per program


class RedeliveryRefusedError(Exception):
    """A delivery of a disabled endpoint cannot be sent again until it is enabled."""


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once; the caller must not keep or log it


def check_url(url: object, *, production: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": "is required (https://…)"})
    try:
        return check_outbound_url(
            url.strip(), production=production, what="the URL", allow_query=True
        )
    except OutboundUrlError as exc:
        raise ValidationError({"url": str(exc)}) from None


def _events(raw: object) -> list[str]:
    events, problem = rules.parse_events(raw)
    if problem:
        raise ValidationError({"events": problem})
    return events


def endpoints(session: Session, program: Program) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.program_id == program.id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def get(session: Session, program: Program, public_id: str) -> WebhookEndpoint | None:
    return session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.program_id == program.id, WebhookEndpoint.public_id == public_id
        )
    )


def create(
    session: Session,
    clock: Clock,
    program: Program,
    url: object,
    events: object,
    actor: StaffUser | str,
    *,
    production: bool,
) -> Created:
    errors: dict[str, str] = {}
    checked = events_ = None
    try:
        checked = check_url(url, production=production)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        events_ = _events(events)
    except ValidationError as exc:
        errors.update(exc.fields)
    if len(endpoints(session, program)) >= MAX_ENDPOINTS:
        errors["url"] = f"a program has at most {MAX_ENDPOINTS} webhook endpoints"
    if errors:
        raise ValidationError(errors)
    assert checked is not None and events_ is not None
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        public_id=new_public_id(),
        program_id=program.id,
        url=checked,
        events=",".join(events_),
        secret=secret,
        enabled=True,
        created_at=clock.now(),
    )
    session.add(endpoint)
    session.flush()
    audit(session, clock, actor, "webhook.added", _target(program, endpoint), _details(endpoint))
    return Created(endpoint, secret)


def update(
    session: Session,
    clock: Clock,
    program: Program,
    endpoint: WebhookEndpoint,
    changes: dict[str, Any],
    actor: StaffUser | str,
    *,
    production: bool,
) -> WebhookEndpoint:
    """Change the URL, the events or whether it is enabled (enabling clears a failure
    streak: the next failure starts a new day)."""
    errors: dict[str, str] = {}
    if "url" in changes:
        try:
            endpoint.url = check_url(changes["url"], production=production)
        except ValidationError as exc:
            errors.update(exc.fields)
    if "events" in changes:
        try:
            endpoint.events = ",".join(_events(changes["events"]))
        except ValidationError as exc:
            errors.update(exc.fields)
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            errors["enabled"] = "must be true or false"
        elif changes["enabled"] != endpoint.enabled:
            set_enabled(session, clock, program, endpoint, changes["enabled"], actor)
    if errors:
        raise ValidationError(errors)
    session.flush()
    audit(session, clock, actor, "webhook.changed", _target(program, endpoint), _details(endpoint))
    return endpoint


def set_enabled(
    session: Session,
    clock: Clock,
    program: Program,
    endpoint: WebhookEndpoint,
    enabled: bool,
    actor: StaffUser | str,
) -> None:
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
    else:
        endpoint.disabled_reason, endpoint.disabled_at = "staff", clock.now()
    session.flush()
    action = "webhook.enabled" if enabled else "webhook.disabled"
    audit(session, clock, actor, action, _target(program, endpoint))


def remove(
    session: Session,
    clock: Clock,
    program: Program,
    endpoint: WebhookEndpoint,
    actor: StaffUser | str,
) -> None:
    target = _target(program, endpoint)
    session.delete(endpoint)
    session.flush()
    audit(session, clock, actor, "webhook.removed", target)


def deliveries(
    session: Session, endpoint: WebhookEndpoint, limit: int = rules.LOG_SIZE
) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def redeliver(
    session: Session,
    clock: Clock,
    program: Program,
    endpoint: WebhookEndpoint,
    delivery_id: int,
    actor: StaffUser | str,
) -> WebhookDelivery | None:
    """Send a delivery once more, now (one try: no automatic retries after it). None
    when the endpoint has no such delivery."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        return None
    if not endpoint.enabled:
        raise RedeliveryRefusedError()
    now = clock.now()
    delivery.status, delivery.next_attempt_at, delivery.retry_until = PENDING, now, now
    session.flush()
    note_new(session, [delivery.id])
    audit(
        session,
        clock,
        actor,
        "webhook.redelivered",
        _target(program, endpoint),
        {"event_id": delivery.event_id, "event": delivery.event_type},
    )
    return delivery


def as_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as the API shows it (never the secret)."""
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "events": endpoint.event_list,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": _iso(endpoint.disabled_at),
        "failing_since": _iso(endpoint.failing_since),
        "created_at": _iso(endpoint.created_at),
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": _iso(delivery.created_at),
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "next_attempt_at": _iso(delivery.next_attempt_at) if delivery.status == PENDING else None,
        "delivered_at": _iso(delivery.delivered_at) if delivery.status == DELIVERED else None,
        "response_status": delivery.response_status,
        "error": delivery.error,
        "response_excerpt": delivery.response_excerpt,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _target(program: Program, endpoint: WebhookEndpoint) -> str:
    return f"{program.slug}/{endpoint.public_id}"


def _details(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # The query may carry the receiver's own token: the audit log keeps the URL without it.
    return {
        "url": endpoint.url.split("?")[0],
        "events": endpoint.event_list,
        "enabled": endpoint.enabled,
    }
