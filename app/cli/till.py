"""`walletpass terminals`, `walletpass cards`, `walletpass jobs`: the till's operator commands."""

from __future__ import annotations

import click

from app.cli.common import opened, transaction
from app.services import cards, programs, terminals
from app.settings import Settings
from app.worker.handlers import run_daily


@click.group("terminals")
def terminals_group() -> None:
    """Till terminals and their API keys."""


@terminals_group.command("add")
@click.option("--program", "slug", required=True, help="Program slug.")
@click.option("--name", required=True, help="A name staff recognise, e.g. 'Tverskaya till 2'.")
@click.option("--store", default=None, help="Store code the terminal stands in.")
@click.pass_obj
def terminals_add(settings: Settings, slug: str, name: str, store: str | None) -> None:
    """Create a terminal and print its key (shown only this once)."""
    with transaction(settings) as (session, services):
        program = programs.get_program(session, slug)
        terminal, key = terminals.add_terminal(session, services.clock, program, name, store)
        click.echo(f"terminal {terminal.name!r} created; its key (store it now, it is not kept):")
        click.echo(key)


@terminals_group.command("list")
@click.option("--program", "slug", required=True)
@click.pass_obj
def terminals_list(settings: Settings, slug: str) -> None:
    """Terminals with their key prefix, store and state."""
    with transaction(settings, write=False) as (session, _services):
        for t in terminals.list_terminals(session, programs.get_program(session, slug)):
            state = "revoked" if t.revoked_at else "active"
            used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
            store = t.store.code if t.store else "-"
            click.echo(f"{t.key_prefix}  {state:8} store={store:12} last used {used}  {t.name}")


@terminals_group.command("revoke")
@click.option("--program", "slug", required=True)
@click.argument("terminal")
@click.pass_obj
def terminals_revoke(settings: Settings, slug: str, terminal: str) -> None:
    """Revoke TERMINAL (its name or key prefix): its key stops working at once."""
    with transaction(settings) as (session, services):
        program = programs.get_program(session, slug)
        revoked = terminals.revoke(session, services.clock, program, terminal)
        click.echo(f"terminal {revoked.name!r} ({revoked.key_prefix}) is revoked")


@click.group("cards")
def cards_group() -> None:
    """Loyalty cards."""


@cards_group.command("set-tier")
@click.option("--program", "slug", required=True)
@click.argument("number")
@click.argument("tier")
@click.option("--reason", default=None, help="Why (required for staff-assigned tiers).")
@click.pass_obj
def cards_set_tier(
    settings: Settings, slug: str, number: str, tier: str, reason: str | None
) -> None:
    """Put card NUMBER on TIER (e.g. large_family); the phone's card updates."""
    with transaction(settings) as (session, services):
        program = programs.get_program(session, slug)
        card = cards.find_by_number(session, program.id, number)
        new = cards.set_tier(session, services.clock, card, tier, reason)
        click.echo(f"card {card.number} is now {new.code} ({new.discount_bp / 100:g} % off)")


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs."""


@jobs_group.command("run-daily")
@click.pass_obj
def jobs_run_daily(settings: Settings) -> None:
    """Birthday bonuses for today (each program's time zone) and expiry of due points."""
    with opened(settings) as services:
        birthdays, expired_cards, expired_points = run_daily(services)
    click.echo(
        f"birthday bonuses: {birthdays}; expired points: {expired_points} on {expired_cards} cards"
    )
