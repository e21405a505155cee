"""`walletpass worker` and `walletpass push`: the delivery side."""

from __future__ import annotations

from datetime import datetime

import click

from app.bootstrap import Services
from app.cli.common import limit_option, opened
from app.push.channels import APNS, CHANNEL_OF_APP, NO_CHANNEL, configured_off
from app.services import delivery, render_failures, wallet_stats
from app.settings import Settings

RELAY_CHANNELS = sorted(c for c in CHANNEL_OF_APP.values() if c is not None and c != APNS)


@click.command()
@limit_option("--threads", 4, 64, "Tasks run at once (they share the process's APNs connections).")
@click.pass_obj
def worker(settings: Settings, threads: int) -> None:
    """Consume the task queue: deliver pass updates, sweep the outbox, daily jobs."""
    from app.worker.runtime import run_consumer

    with opened(settings) as services:
        run_consumer(services, threads)


@click.group()
def push() -> None:
    """Pass update pushes."""


@push.command("stats")
@click.pass_obj
def push_stats(settings: Settings) -> None:
    """Pushes by outcome, pruned registrations, queue depth, oldest owed change, alarms,
    passes that fail to render."""
    with opened(settings) as services:
        with services.transaction(write=False) as session:
            stats = delivery.stats(session, services.clock)
            others = [
                alarm
                for channel in sorted(delivery.paused_channels(session) - {delivery.CHANNEL})
                if (alarm := delivery.open_alarm(session, channel)) is not None
            ]
            failing = render_failures.summary(session)
            paused = delivery.paused_channels(session)
            owed_apps = delivery.owed_by_app(session)
            unreachable = delivery.unreachable_registrations(session)
            relay_stats = {
                name: delivery.stats(session, services.clock, name) for name in RELAY_CHANNELS
            }
        now = services.clock.now()
        if stats.alarm:
            click.secho(f"ALARM: {stats.alarm}", fg="red", err=True)
            click.echo("  APNs is paused; fix the cause, then run `walletpass push resume`")
        for alarm in others:
            click.secho(
                f"ALARM ({alarm.channel}): {alarm.reason}: {alarm.message}", fg="red", err=True
            )
            click.echo(
                f"  fix the cause, then run `walletpass push resume --channel {alarm.channel}`"
            )
        click.echo(f"registered devices x passes: {stats.registrations}")
        click.echo(f"queue: {services.queue.pending()} tasks waiting")
        oldest = (
            f", oldest owed for {int((now - stats.oldest_pending).total_seconds())} s"
            if stats.oldest_pending
            else ""
        )
        click.echo(f"passes owed to devices: {stats.pending_passes}{oldest}")
        for title, counters in (("today", stats.today), ("all time", stats.counters)):
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counters.items())) or "none"
            click.echo(f"pushes {title}: {shown}")
        _owed_lines(settings, owed_apps, paused, unreachable)
        for name, relay in relay_stats.items():
            if relay.counters:
                today = ", ".join(f"{k} {v}" for k, v in sorted(relay.today.items())) or "none"
                total = ", ".join(f"{k} {v}" for k, v in sorted(relay.counters.items()))
                click.echo(f"{name} pushes today: {today}; all time: {total}")
        _render_failures(failing, now)
        _wallet_apps(services)


def _wallet_apps(services: Services) -> None:
    """One line: active cards per wallet app, with today's installs and removals (UTC)."""
    with services.transaction(write=False) as session:
        rows = wallet_stats.today(session, services.clock.now())
    shown = ", ".join(
        f"{r.wallet_app} {r.active} active (+{r.installs} / -{r.removals} today)" for r in rows
    )
    click.echo(f"cards by wallet app: {shown or 'none'}")


def _owed_lines(
    settings: Settings, owed_apps: dict[str, int], paused: set[str], unreachable: int
) -> None:
    """Passes owed per push channel, with the reason when the channel cannot send."""
    off = configured_off(settings)
    owed: dict[str, int] = {}
    for app, n in owed_apps.items():
        channel = CHANNEL_OF_APP.get(app)
        if channel is not None:
            owed[channel] = owed.get(channel, 0) + n
    for channel in sorted(set(owed) | {c for c, why in off.items() if why}):
        n = owed.get(channel, 0)
        why = "paused by its alarm" if channel in paused else off.get(channel)
        if why:
            click.secho(f"owed to {channel}: {n} (off: {why})", fg="yellow" if n else None)
        elif n:
            click.echo(f"owed to {channel}: {n}")
    if unreachable:
        click.echo(
            f"registrations of unnamed wallet apps: {unreachable} ({NO_CHANNEL}; "
            "they refresh by hand)"
        )


def _render_failures(failing: render_failures.Summary, now: datetime) -> None:
    if not failing.passes:
        click.echo("passes that fail to render: 0")
        return
    retry = (
        f", next try in {max(0, int((failing.next_retry - now).total_seconds()))} s"
        if failing.next_retry
        else ""
    )
    click.secho(f"passes that fail to render: {failing.passes}{retry}", fg="yellow")
    for reason, n in failing.reasons:
        click.echo(f"  {n} x {reason}")


@push.command("resume")
@click.option(
    "--channel",
    default=delivery.CHANNEL,
    show_default=True,
    help="The channel whose alarm to clear (apns, google, or a relay: pass2u, …).",
)
@click.pass_obj
def push_resume(settings: Settings, channel: str) -> None:
    """Clear a channel's alarm after fixing its cause; owed updates go out again."""
    with opened(settings) as services, services.transaction() as session:
        cleared = delivery.clear_alarms(session, services.clock, channel)
    click.echo(
        "alarm cleared; the sweeper sends what is owed within a minute"
        if cleared
        else "no open alarm"
    )
