"""`walletpass analytics`: the dashboard's daily rollups."""

from __future__ import annotations

import time

import click
from sqlalchemy import select

from app.analytics.rebuild import rebuild
from app.bootstrap import build_services
from app.loyalty.errors import LoyaltyError
from app.loyalty.models import Program
from app.services import programs, wallet_counts
from app.settings import Settings


@click.group("analytics")
def analytics_group() -> None:
    """The dashboard's figures."""


@analytics_group.command("rebuild")
@click.option("--program", "slug", default=None, help="Program slug (default: every program).")
@click.pass_obj
def analytics_rebuild(settings: Settings, slug: str | None) -> None:
    """Rebuild the daily rollups the dashboard reads from the receipts, and the wallet
    counts from the registrations, Google objects and events (after rows were written
    around the till or the PassKit service, e.g. an import)."""
    services = build_services(settings)
    try:
        with services.transaction() as session:
            if slug:
                chosen = [programs.get_program(session, slug)]
            else:
                chosen = list(session.scalars(select(Program).order_by(Program.id)))
            for program in chosen:
                started = time.perf_counter()
                done = rebuild(session, program, services.clock.now())
                done += "; " + wallet_counts.rebuild(session, program)
                click.echo(f"{program.slug}: {done} in {time.perf_counter() - started:.1f} s")
    except LoyaltyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
