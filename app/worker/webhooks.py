"""Task bodies for webhooks: deliver a batch, and the minute sweep. Deliveries are
claimed in one short transaction, sent outside any, and the answers recorded in another."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from app.bootstrap import Services
from app.services import webhook_events
from app.webhooks.sender import Answer, WebhookSender

log = logging.getLogger(__name__)

_CONCURRENT = 8  # requests in flight per task


def sender_for(services: Services) -> WebhookSender:
    return WebhookSender(production=services.settings.is_production)


def deliver(services: Services, sender: WebhookSender, delivery_ids: list[int]) -> list[Answer]:
    """One try of each due delivery among ``delivery_ids``; returns the answers."""
    with services.transaction() as session:
        outgoing = webhook_events.claim(session, services.clock.now(), delivery_ids)
    if not outgoing:
        return []
    if len(outgoing) == 1:
        answers = [sender.send(outgoing[0])]
    else:
        with ThreadPoolExecutor(min(len(outgoing), _CONCURRENT)) as pool:
            answers = list(pool.map(sender.send, outgoing))
    with services.transaction() as session:
        recorded = webhook_events.record(session, services.clock, answers)
    for answer in answers:
        if not answer.ok:  # the URL is the staff's; log only our ids and the outcome
            log.info(
                "webhook delivery %d failed: %s", answer.delivery_id, answer.error or answer.status
            )
    for endpoint_id in recorded.disabled:
        log.warning("webhook endpoint %d disabled after a day of failures", endpoint_id)
    return answers


def sweep(services: Services) -> int:
    """Enqueue deliveries whose retry time has come (and lost enqueues); purge old log."""
    now = services.clock.now()
    with services.transaction(write=False) as session:
        due = webhook_events.due(session, now)
    if due:
        services.queue.deliver_webhooks(due)
    with services.transaction() as session:
        webhook_events.purge(session, now)
    return len(due)
