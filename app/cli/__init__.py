"""The `walletpass` command line."""

from __future__ import annotations

import click

from app import logs
from app.cli.analytics import analytics_group
from app.cli.certs import certs
from app.cli.db import db, demo
from app.cli.doctor import doctor
from app.cli.fake_apns import fake_apns
from app.cli.members import members
from app.cli.passes import passes
from app.cli.posters import poster
from app.cli.programs import programs_group
from app.cli.run import run
from app.cli.serve import serve
from app.cli.simulate import simulate
from app.cli.till import cards_group, jobs_group, terminals_group
from app.cli.users import users
from app.cli.worker import push, worker
from app.settings import Settings, SettingsError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """walletpass: loyalty cards in Apple Wallet and Google Wallet."""
    if ctx.invoked_subcommand == "doctor":
        logs.configure(verbose=verbose)
        return  # doctor loads the settings itself and reports an error as a check
    try:
        ctx.obj = Settings.from_env()
    except SettingsError as exc:
        logs.configure(verbose=verbose)
        raise click.ClickException(f"configuration error: {exc}") from None
    logs.configure(verbose=verbose, fmt=ctx.obj.log_format)


for command in (
    run,
    serve,
    db,
    doctor,
    demo,
    certs,
    poster,
    passes,
    programs_group,
    terminals_group,
    cards_group,
    jobs_group,
    worker,
    push,
    fake_apns,
    users,
    members,
    simulate,
    analytics_group,
):
    main.add_command(command)
