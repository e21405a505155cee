"""Task bodies. Each is an entry point: it opens its own short transactions and never
keeps one open while talking to Apple."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import metrics
from app.bootstrap import Services
from app.db import refresh_statistics
from app.loyalty.models import Program
from app.passes.google import objects, root_keys
from app.passes.google.client import GoogleWalletError, NotificationQuotaError
from app.push.channels import CHANNEL_OF_APP, Channel, Channels, configured_off
from app.push.rules import PushSender, SendResult
from app.services import (
    campaign_control,
    campaigns,
    cards,
    delivery,
    erasure,
    google_keys,
    google_messages,
    google_wallet,
    jobs,
    lifecycle,
    pass_renderings,
    render_failures,
    retention,
)
from app.worker import invites, webhooks

log = logging.getLogger(__name__)


def deliver(
    services: Services, push: PushSender | Channels, pass_ids: list[int]
) -> delivery.Report:
    """Deliver a batch on every channel. A pass that cannot be rendered is marked and
    held; it never stops the others. A channel with an open alarm pauses only itself."""
    ready = probe_marked(services, pass_ids)
    if services.google is not None:
        _, failed = _deliver_google(services, ready)
        ready = [p for p in ready if p not in failed]
    return deliver_passkit(services, Channels.of(push), ready)


def probe_marked(services: Services, pass_ids: list[int]) -> list[int]:
    """The passes of the batch that may be delivered now: unmarked ones, and marked
    ones whose retry time has come and that render again (their mark is cleared)."""
    now = services.clock.now()
    with services.transaction(write=False) as session:
        marks = render_failures.marked(session, pass_ids)
        if not marks:
            return pass_ids
        due = [p for p, retry_at in marks.items() if retry_at <= now]
        failed: dict[int, str] = {}
        for pass_id in due:
            try:
                cards.content_of(
                    session, google_wallet.card_of_pass(session, pass_id), services.templates
                )
            except SQLAlchemyError:
                raise  # the database's trouble, not the pass's: the task is retried
            except Exception as exc:  # any render error is this pass's alone
                failed[pass_id] = render_failures.reason_of(exc)
    with services.transaction() as session:
        render_failures.clear(session, [p for p in due if p not in failed])
        render_failures.record(session, services.clock, failed)
    _log_failures(failed)
    return [p for p in pass_ids if p not in marks or (p in due and p not in failed)]


def _log_failures(failed: dict[int, str]) -> None:
    for pass_id, reason in failed.items():
        log.error("pass %d cannot be rendered, held and retried later: %s", pass_id, reason)


def deliver_google(services: Services, pass_ids: list[int]) -> int:
    """PATCH the Google object of every pass that changed since Google last saw it."""
    return _deliver_google(services, pass_ids)[0]


def _deliver_google(services: Services, pass_ids: list[int]) -> tuple[int, set[int]]:
    """Returns how many objects were patched, and the passes that failed to render."""
    google = services.google
    assert google is not None
    issuer, public_url = google.settings.issuer_id, services.settings.public_url
    found: list[google_wallet.Bodies] = []
    failed: dict[int, str] = {}
    with services.transaction(write=False) as session:
        if "google" in delivery.paused_channels(session):
            log.warning("Google alarm open: %d passes stay owed until it is cleared", len(pass_ids))
            return 0, set()
        for pass_id in google_wallet.owed(session, pass_ids):
            try:
                found.append(
                    google_wallet.bodies_of_pass(
                        session, pass_id, services.templates, issuer, public_url
                    )
                )
            except SQLAlchemyError:
                raise
            except Exception as exc:  # any render error is this pass's alone
                failed[pass_id] = render_failures.reason_of(exc)
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
    metrics.count_pushes("google", {"accepted": len(done), "failed": len(found) - len(done)})
    if done or failed:
        with services.transaction() as session:
            google_wallet.delivered(session, done)
            render_failures.record(session, services.clock, failed)
    _log_failures(failed)
    send_google_messages(services, [p for p in pass_ids if p not in failed])
    return len(done), set(failed)


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
    notified_n = sum(sent.values())
    metrics.count_pushes(
        "google",
        {
            "message_notified": notified_n,
            "message_silent": len(sent) - notified_n,
            "message_failed": len(owed) - len(sent),
        },
    )
    if sent:
        with services.transaction() as session:
            google_messages.messages_sent(session, services.clock.now(), sent)
    return len(sent)


def deliver_apple(services: Services, sender: PushSender, pass_ids: list[int]) -> delivery.Report:
    return deliver_passkit(services, Channels.of(sender), pass_ids)


def deliver_passkit(services: Services, channels: Channels, pass_ids: list[int]) -> delivery.Report:
    """Every device registered through the PassKit web service, on its app's channel:
    owed work grouped by channel (and PassWallet relay URL), batched within each
    channel's limit, the batches sent concurrently; a channel that is off or paused is
    not called and its passes stay owed."""
    with services.transaction(write=False) as session:
        paused = delivery.paused_channels(session)
        owed = delivery.pending(session, pass_ids)
    if not owed.versions:
        return delivery.Report()
    pass_type_id = services.settings.apple.pass_type_id
    sending: set[str] = set()
    for name, urls in owed.by_channel().items():
        off = "paused by its alarm" if name in paused else channels.off_reason(name)
        if channels.get(name) is None or off is not None:
            n = sum(len(tokens) for tokens in urls.values())
            level = logging.WARNING if name in paused else logging.INFO
            log.log(level, "%s is off (%s): %d devices stay owed", name, off, n)
            continue
        sending.add(name)
    results: dict[delivery.ResultKey, SendResult] = {}

    def call(channel: Channel, url: str | None, tokens: list[str]) -> None:
        for result in channel.send(pass_type_id, tokens, url):
            results[(channel.name, url, result.token)] = result

    # Signed and pushed a slice at a time: the first phones are woken after a slice's
    # signing, not the whole task's.
    targets = [t for t in owed.targets if t.channel in sending]
    passes = list(dict.fromkeys(t.pass_id for t in targets))
    for start in range(0, len(passes), _SIGN_SLICE):
        part = set(passes[start : start + _SIGN_SLICE])
        _sign_ahead(services, part)
        calls = _batches(channels, [t for t in targets if t.pass_id in part])
        if len(calls) == 1:
            call(*calls[0])
        elif calls:
            with ThreadPoolExecutor(min(len(calls), _CONCURRENT_CALLS)) as pool:
                for future in [pool.submit(call, *c) for c in calls]:
                    future.result()
    with services.transaction() as session:
        report = delivery.record(session, services.clock, owed, results)
    log.info(
        "delivered %d of %d passes: %s; pruned %d",
        report.delivered_passes,
        len(owed.versions),
        {c: dict(o) for c, o in report.by_channel.items()},
        report.pruned,
    )
    for name, error in report.config_errors.items():
        log.error("%s refused our credentials (%s): sending stopped", name, error)
    return report


def _batches(
    channels: Channels, targets: list[delivery.Target]
) -> list[tuple[Channel, str | None, list[str]]]:
    """The channel calls for these targets: per channel and relay URL, each channel's
    batch size at most, every token once."""
    calls: list[tuple[Channel, str | None, list[str]]] = []
    for name, urls in delivery.Owed(targets, {}).by_channel().items():
        channel = channels.get(name)
        assert channel is not None  # the caller kept only channels that send
        for url, tokens in urls.items():
            for i in range(0, len(tokens), channel.max_batch):
                calls.append((channel, url, tokens[i : i + channel.max_batch]))
    return calls


_CONCURRENT_CALLS = 8  # relay calls in flight per task (APNs multiplexes on its own)
_SIGN_SLICE = 100  # passes signed ahead (~0.1 s) before their pushes go out


def _sign_ahead(services: Services, pass_ids: set[int]) -> None:
    """Sign the passes about to be pushed, so each phone's fetch is one read. Signed in a
    read transaction, kept in a short write one (SQLite's write lock is the till's too)."""
    if not pass_ids:
        return
    with services.transaction(write=False) as session:
        made = pass_renderings.signed(session, services.pkpass, services.templates, pass_ids)
    with services.transaction() as session:
        pass_renderings.store(
            session, services.clock.now(), services.pkpass.signer_fingerprint, made
        )


# What each channel still owes after a while: (session, now, age) -> pass ids.
OwedAfter = Callable[[Session, datetime, timedelta], list[int]]


def off_apps(services: Services, paused: set[str], channels: Channels | None = None) -> set[str]:
    """Wallet apps whose channel cannot send now (off in settings or this worker, or
    paused by an alarm): their devices stay owed without being swept every minute."""
    off = set()
    for app, name in CHANNEL_OF_APP.items():
        if name is None:
            continue
        reason = (
            channels.off_reason(name)
            if channels is not None
            else configured_off(services.settings).get(name)
        )
        if name in paused or reason is not None:
            off.add(app)
    return off


def owed_by_channel(services: Services, channels: Channels | None = None) -> dict[str, OwedAfter]:
    """The sweepable channels of this deployment, by the name their alarms carry. The
    PassKit channels (APNs and the relays) share one outbox column, so they are swept
    together under "apns", skipping passes owed only to switched-off channels."""

    def passkit(session: Session, now: datetime, age: timedelta) -> list[int]:
        paused = delivery.paused_channels(session)
        return delivery.stale(session, services.clock, age, off_apps(services, paused, channels))

    channels_: dict[str, OwedAfter] = {delivery.CHANNEL: passkit}
    if services.google is not None:
        channels_["google"] = google_wallet.stale
    return channels_


def sweep(services: Services, channels: Channels | None = None) -> int:
    """Re-enqueue every pass owed for longer than the sweep age (a minute) on a channel
    without an open alarm, unless its render failure waits for its next try or a
    delivery task for it still waits in the queue."""
    age = timedelta(seconds=services.settings.sweep_after_seconds)
    now = services.clock.now()
    stale: set[int] = set()
    with services.transaction(write=False) as session:
        paused = delivery.paused_channels(session)
        for channel, owed_after in owed_by_channel(services, channels).items():
            # PassKit passes owed to a paused channel are left out inside its query.
            if channel not in paused or channel == delivery.CHANNEL:
                stale.update(owed_after(session, now, age))
        if stale:
            stale -= render_failures.waiting(session, now)
    if stale:
        stale -= services.queue.queued_deliveries()
    if stale:
        log.info("sweeper: %d passes still owed after %s, enqueued again", len(stale), age)
        # Run a sweep age from now: a task delivering them right now (not in the queue
        # any more) has recorded them by then, and they are not pushed twice.
        services.queue.deliver(sorted(stale), delay=age.total_seconds())
    return len(stale)


def run_daily(services: Services) -> tuple[int, int, int]:
    """Birthday bonuses and expiry, one small transaction per card, so locks are short
    and a crash loses nothing (both are idempotent); then retention (device logs, audit
    log) and the device registrations of erased members' cards."""
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
    # Birthday triggers, each on its own day around the birthday (campaign_control).
    with services.transaction(write=False) as session:
        program_ids = [p.id for p in jobs.all_programs(session)]
    for program_id in program_ids:
        with services.transaction() as session:
            program = session.get(Program, program_id)
            if program is not None:
                today = jobs.local_today(program, now)
                campaign_control.fire_birthdays(session, services.clock, program, today)
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
        purged = retention.purge(
            session,
            now,
            services.settings.device_log_retention_days,
            services.settings.audit_retention_days,
        )
        released = erasure.release_erased_devices(session, now)
        renderings = pass_renderings.prune(session, now)
    log.info(
        "retention: %d device logs, %d audit entries deleted; %d registrations of erased "
        "cards released; %d passes signed ahead dropped",
        purged.device_logs,
        purged.audit_entries,
        released,
        renderings,
    )
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


def campaign_failed(services: Services, campaign_id: int, reason: str) -> None:
    log.error("campaign %d failed after its retries: %s", campaign_id, reason)
    with services.transaction() as session:
        campaigns.mark_failed(session, services.clock, campaign_id, reason)


def start_due_campaigns(services: Services) -> list[int]:
    """Each minute: campaigns whose time came start; those past their end date stop and
    their offer leaves the cards (pushed after the commit)."""
    with services.transaction() as session:
        campaign_control.clear_ended(session, services.clock)
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


def refresh_google_keys(services: Services) -> bool:
    """Fetch Google's callback root keys when the stored copy's lifetime has run out
    (or there is none). A failed fetch keeps the old copy and is tried next minute."""
    url = services.google.settings.root_keys_url if services.google is not None else None
    if url is None:
        return False
    now = services.clock.now()
    with services.transaction(write=False) as session:
        if not google_keys.refresh_due(session, url, now):
            return False
    try:
        fetched = root_keys.fetch(url, now)
    except root_keys.RootKeysError as exc:
        log.warning("Google callback keys not refreshed: %s", exc)
        return False
    with services.transaction() as session:
        until = google_keys.store(session, services.clock, url, fetched.body, fetched.max_age)
    log.info("Google callback keys refreshed, good until %s", f"{until:%Y-%m-%d %H:%M} UTC")
    return True


def attach(services: Services, push: PushSender | Channels) -> None:
    queue = services.queue
    channels = Channels.of(push)
    queue.handle("deliver_passes", lambda ids: deliver(services, channels, ids))
    queue.handle("sweep_outbox", lambda: sweep(services, channels))
    queue.handle("daily_jobs", lambda: run_daily(services))
    queue.handle("run_campaign", lambda campaign_id: run_campaign(services, campaign_id))
    queue.handle("campaign_failed", lambda cid, reason: campaign_failed(services, cid, reason))
    queue.handle("start_due_campaigns", lambda: start_due_campaigns(services))
    queue.handle("sync_google_class", lambda program_id: sync_google_class(services, program_id))
    queue.handle("refresh_google_keys", lambda: refresh_google_keys(services))
    queue.handle("send_invites", lambda ids: invites.send_invites(services, ids))
    queue.handle("invite_tick", lambda: invites.tick(services))
    sender = webhooks.sender_for(services)
    queue.handle("deliver_webhooks", lambda ids: webhooks.deliver(services, sender, ids))
    queue.handle("sweep_webhooks", lambda: webhooks.sweep(services))
