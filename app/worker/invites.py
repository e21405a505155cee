"""Task bodies for invites: send a batch through its channel, and the minute tick
(campaign slices, owed invites). Nothing is sent inside a transaction: invites are
claimed and composed in one, sent outside, and the answers recorded in another."""

from __future__ import annotations

import logging
from collections import defaultdict

from app.bootstrap import Services
from app.messaging import rules
from app.messaging.mail import Mail, MailError
from app.messaging.sms import Sms, SmsError
from app.services import invite_campaigns, invites

log = logging.getLogger(__name__)


def send_invites(services: Services, invite_ids: list[int]) -> dict[str, int]:
    """Send what is queued and due among ``invite_ids``; returns counts by outcome."""
    now = services.clock.now()
    with services.transaction() as session:
        claimed = invites.claim(session, now, invite_ids)
        outgoing = invites.compose(session, claimed, services.settings.public_url)
    outcomes = [
        invites.Outcome(i, False, error="no phone or e-mail address for this channel")
        for i in sorted(set(claimed) - {o.invite_id for o in outgoing})
    ]
    by_channel: dict[str, list[invites.Outgoing]] = defaultdict(list)
    for item in outgoing:
        by_channel[item.channel].append(item)
    outcomes += _send_sms(services, by_channel["sms"])
    outcomes += _send_mail(services, by_channel["email"])
    if outcomes:
        with services.transaction() as session:
            invites.record(session, services.clock, outcomes)
    counts = {"sent": 0, "refused": 0, "retry": 0}
    for o in outcomes:
        counts["sent" if o.ok else "retry" if o.retry else "refused"] += 1
    if outcomes:
        log.info("invites: %(sent)d sent, %(refused)d refused, %(retry)d to retry", counts)
    return counts


def _off(items: list[invites.Outgoing], reason: str) -> list[invites.Outcome]:
    return [invites.Outcome(i.invite_id, False, error=reason, retry=True) for i in items]


def _send_sms(services: Services, items: list[invites.Outgoing]) -> list[invites.Outcome]:
    sms = services.messaging.sms
    if not items:
        return []
    if sms is None:
        return _off(items, "the SMS channel is off")
    out = []
    for start in range(0, len(items), sms.batch):
        batch = items[start : start + sms.batch]
        messages = [Sms(i.to, rules.sms_text(i.locale, i.brand, i.link, i.bonus)) for i in batch]
        try:
            results = sms.send(messages)
        except SmsError as exc:
            log.warning("SMS gateway refused a batch of %d: %s", len(batch), exc)
            out += _off(batch, str(exc))
            continue
        for item, result in zip(batch, results, strict=True):
            out.append(invites.Outcome(item.invite_id, result.ok, result.message_id, result.error))
    return out


def _send_mail(services: Services, items: list[invites.Outgoing]) -> list[invites.Outcome]:
    mailer = services.messaging.mail
    if not items:
        return []
    if mailer is None:
        return _off(items, "the e-mail channel is off")
    mails = [
        Mail(
            to=i.to,
            subject=rules.mail_subject(i.locale, i.brand),
            text=rules.mail_text(i.locale, i.brand, i.name, i.link, i.bonus, i.unsubscribe),
            unsubscribe_url=i.unsubscribe,
        )
        for i in items
    ]
    try:
        results = mailer.send(mails)
    except MailError as exc:
        log.warning("SMTP relay unusable for %d invites: %s", len(items), exc)
        return _off(items, str(exc))
    return [
        invites.Outcome(item.invite_id, r.ok, r.message_id, r.error, retry=r.retry)
        for item, r in zip(items, results, strict=True)
    ]


def tick(services: Services) -> int:
    """Each running campaign's next slice (its own short transaction each), then owed
    invites enqueued again. Returns the invites created."""
    created = 0
    with services.transaction(write=False) as session:
        running = invite_campaigns.sending(session)
    for campaign_id in running:
        with services.transaction() as session:
            created += invite_campaigns.tick(session, services.clock, services.queue, campaign_id)
    with services.transaction(write=False) as session:
        owed = invites.owed(session, services.clock.now())
    if owed:
        services.queue.send_invites(owed)
    return created
