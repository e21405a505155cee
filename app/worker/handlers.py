"""Task bodies. Each is an entry point: it opens its own short transactions and never
keeps one open while talking to Apple."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.bootstrap import Services
from app.db import refresh_statistics
from app.loyalty.models import Program
from app.passes.google import objects
from app.passes.google.client import GoogleWalletError, NotificationQuotaError
from app.push.rules import PushSender
from app.services import campaigns, delivery, google_messages, google_wallet, jobs, lifecycle

log = logging.getLogger(__name__)


def deliver(services: Services, sender: PushSender, pass_ids: list[int]) -> delivery.Report:
    if services.google is not None:
        deliver_google(services, pass_ids)
    return deliver_apple(services, sender, pass_ids)


def deliver_google(services: Services, pass_ids: list[int]) -> int:
    """PATCH the Google object of every pass that changed since Google last saw it."""
    google = services.google
    assert google is not None
    issuer, public_url = google.settings.issuer_id, services.settings.public_url
    with services.transaction(write=False) as session:
        owed = google_wallet.owed(session, pass_ids)
        found = [
            google_wallet.bodies(
                session,
                google_wallet.card_of_pass(session, p),
                services.templates,
                issuer,
                public_url,
            )
            for p in owed
        ]
    done: dict[int, int] = {}
    for item in found:
        try:
            # Google notifies the holder only for its allow-listed fields (the balance).
            google.client.patch_object(item.object_body["id"], item.object_body, notify=True)
        except GoogleWalletError as exc:  # stays owed: the sweeper tries again
            log.warning(
                "Google Wallet patch of pass %d failed: %s %s", item.pass_id, exc.status, exc.reason
            )
            continue
        done[item.pass_id] = item.version
    if done:
        with services.transaction() as session:
            google_wallet.delivered(session, done)
    send_google_messages(services, pass_ids)
    return len(done)


def send_google_messages(services: Services, pass_ids: list[int]) -> int:
    """Campaign texts owed to Google cards; a refused notification goes in silently."""
    google = services.google
    assert google is not None
    with services.transaction(write=False) as session:
        owed = google_messages.owed_messages(session, pass_ids, services.clock.now())
    sent: dict[int, bool] = {}
    for item in owed:
        body, notified = item.body, item.notify
        try:
            try:
                google.client.add_message(item.object_id, body)
            except NotificationQuotaError:  # our count and Google's disagree: go silent
                body, notified = {**body, "messageType": "TEXT"}, False
                google.client.add_message(item.object_id, body)
        except GoogleWalletError as exc:
            # The object id names the card: log our message id, and no text of Google's.
            log.warning("Google Wallet message %d failed: %s %s", item.id, exc.status, exc.reason)
            continue
        sent[item.id] = notified
    if sent:
        with services.transaction() as session:
            google_messages.messages_sent(session, services.clock.now(), sent)
    return len(sent)


def deliver_apple(services: Services, sender: PushSender, pass_ids: list[int]) -> delivery.Report:
    with services.transaction(write=False) as session:
        if delivery.open_alarm(session) is not None:
            log.warning("APNs alarm open: %d passes stay owed until it is cleared", len(pass_ids))
            return delivery.Report()
        owed = delivery.pending_apple(session, pass_ids)
    if not owed.versions:
        return delivery.Report()
    tokens = owed.tokens
    results = {r.token: r for r in sender.send(tokens)} if tokens else {}
    with services.transaction() as session:
        report = delivery.record_apple(session, services.clock, owed, results)
    log.info(
        "delivered %d of %d passes to %d devices: %s; pruned %d",
        report.delivered_passes,
        len(owed.versions),
        len(tokens),
        {str(outcome): n for outcome, n in report.outcomes.items()},
        report.pruned,
    )
    if report.config_error:
        log.error("APNs refused our credentials (%s): sending stopped", report.config_error)
    return report


def sweep(services: Services) -> int:
    """Re-enqueue every pass owed to devices for longer than the sweep age (a minute)."""
    age = timedelta(seconds=services.settings.sweep_after_seconds)
    with services.transaction(write=False) as session:
        if delivery.open_alarm(session) is not None:
            return 0
        stale = delivery.stale_apple(session, services.clock, age)
        if services.google is not None:
            stale = sorted(
                set(stale) | set(google_wallet.stale(session, services.clock.now(), age))
            )
    if stale:
        log.info("sweeper: %d passes still owed after %s, enqueued again", len(stale), age)
        services.queue.deliver(stale)
    return len(stale)


def run_daily(services: Services) -> tuple[int, int, int]:
    """Birthday bonuses and expiry; one small transaction per card, so locks are short
    and a crash loses nothing (both are idempotent)."""
    now = services.clock.now()
    birthdays = 0
    with services.transaction(write=False) as session:
        todo = [
            (card_id, jobs.local_today(p, now).year)
            for p in jobs.all_programs(session)
            for card_id in jobs.birthday_cards(session, p, jobs.local_today(p, now))
        ]
        due = jobs.cards_with_due_lots(session, now)
    for card_id, year in todo:
        with services.transaction() as session:
            birthdays += jobs.award_birthday(session, services.clock, card_id, year)
    expired_cards = expired_points = 0
    for card_id in due:
        with services.transaction() as session:
            points = jobs.expire_card(session, services.clock, card_id)
        expired_cards += points > 0
        expired_points += points
    with services.transaction() as session:
        for program in jobs.all_programs(session):
            lifecycle.refresh_stages(session, services.clock, program)
    with services.transaction() as session:
        refresh_statistics(session)
    services.limiter.purge()  # rate-limit counters of idle clients
    return birthdays, expired_cards, expired_points


def run_campaign(services: Services, campaign_id: int) -> int:
    """Targets first, then the offer chunk by chunk, each chunk its own transaction
    (whose commit enqueues the pushes). Safe to run again after a crash."""
    with services.transaction() as session:
        targets = campaigns.select_targets(session, services.clock, campaign_id)
    applied = 0
    while True:
        with services.transaction() as session:
            chunk = campaigns.next_chunk(session, campaign_id)
            if not chunk:
                campaigns.finish(session, services.clock, campaign_id)
                break
            applied += campaigns.apply_chunk(session, services.clock, campaign_id, chunk)
    log.info("campaign %d: %d targets, offer applied to %d cards", campaign_id, targets, applied)
    return applied


def start_due_campaigns(services: Services) -> list[int]:
    with services.transaction() as session:
        return campaigns.start_due(session, services.clock, services.queue)


def sync_google_class(services: Services, program_id: int) -> None:
    """Re-send a program's LoyaltyClass (colour, logo, locations) after its design changed.
    A failure raises, so Huey retries the task."""
    google = services.google
    if google is None:
        return
    with services.transaction(write=False) as session:
        program = session.get(Program, program_id)
        assert program is not None
        body = objects.loyalty_class(
            google.settings.issuer_id,
            google_wallet.program_look(program, services.templates, services.settings.public_url),
        )
    try:
        google.client.patch_class(body["id"], body)
    except GoogleWalletError as exc:
        if exc.status != 404:
            raise
        google.client.insert_class(body)


def attach(services: Services, sender: PushSender) -> None:
    queue = services.queue
    queue.handle("deliver_passes", lambda ids: deliver(services, sender, ids))
    queue.handle("sweep_outbox", lambda: sweep(services))
    queue.handle("daily_jobs", lambda: run_daily(services))
    queue.handle("run_campaign", lambda campaign_id: run_campaign(services, campaign_id))
    queue.handle("start_due_campaigns", lambda: start_due_campaigns(services))
    queue.handle("sync_google_class", lambda program_id: sync_google_class(services, program_id))
