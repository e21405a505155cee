"""Database commands: migrations and the demo program."""

from __future__ import annotations

import click

from app.bootstrap import upgrade_database
from app.cli.common import opened
from app.services.programs import seed_demo
from app.settings import Settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Apply every migration up to the newest."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.database_url)
    click.echo("database is up to date")


@click.group()
def demo() -> None:
    """The demo program."""


@demo.command("seed")
@click.option("--history", is_flag=True, help="Add a few months of simulated shoppers (once).")
@click.pass_obj
def demo_seed(settings: Settings, history: bool) -> None:
    """Create the demo program (7 % base, 15 % large family, 2 000 install bonus)."""
    from app.cli.simulate import DEMO_HISTORY, seed_history

    with opened(settings) as services, services.transaction() as session:
        program = seed_demo(session, services.clock)
        if history:
            if seed_history(session, services.clock, program, DEMO_HISTORY):
                click.echo(
                    f"demo history added: {DEMO_HISTORY.members} members, "
                    f"{DEMO_HISTORY.receipts} receipts over {DEMO_HISTORY.days} days"
                )
            else:
                click.echo("the demo program has a history already")
        click.echo(f"demo program ready: /join/{program.slug}")
