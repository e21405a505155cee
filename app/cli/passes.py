"""`walletpass passes`: what phones reported about our passes."""

from __future__ import annotations

import click

from app.bounds import strip_control_characters
from app.cli.common import limit_option, opened
from app.passes.apple.device_logs import explanation
from app.services import passkit
from app.settings import Settings


@click.group()
def passes() -> None:
    """Wallet passes."""


@passes.command("logs")
@limit_option("--limit", 50, 10_000)
@click.option("--reason", default=None, help="Only this reason (e.g. http_401, invalid_pass).")
@click.pass_obj
def passes_logs(settings: Settings, limit: int, reason: str | None) -> None:
    """Recent messages phones posted to /passkit/v1/log, newest first, with what they mean."""
    with opened(settings) as services, services.transaction(write=False) as session:
        rows = passkit.recent_logs(session, limit=limit, reason=reason)
        if not rows:
            click.echo("no log messages from phones")
        for row in rows:
            when = row.received_at.strftime("%Y-%m-%d %H:%M:%S")
            serial = f" serial {row.serial_number}" if row.serial_number else ""
            click.echo(f"{when} UTC  {row.reason}: {explanation(row.reason)}{serial}")
            # Rows stored before the log endpoint stripped control characters still hold them.
            click.echo(f"    {strip_control_characters(row.message)}")
