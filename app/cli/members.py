"""`walletpass members import|export`: moving a customer base from or to another system."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click

from app.cli.common import domain_errors, limit_option, opened, transaction
from app.services import import_invites, imports, invite_campaigns, programs
from app.settings import Settings


@click.group()
def members() -> None:
    """Members of a program."""


@members.command("import")
@click.option("--program", "slug", required=True)
@click.option("--apply", is_flag=True, help="Create the members (without it: a dry run).")
@click.option(
    "--invite",
    is_flag=True,
    help="Send an install invite (SMS, else e-mail) to the imported members with a "
    "marketing consent, through an invite campaign of source import.",
)
@limit_option(
    "--invite-budget",
    import_invites.DAILY_BUDGET,
    invite_campaigns.MAX_DAILY,
    "Invites per day (the program's local day).",
)
@limit_option(
    "--invite-per-minute",
    import_invites.PER_MINUTE,
    invite_campaigns.MAX_PER_MINUTE,
    "Invites per minute.",
)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def members_import(
    settings: Settings,
    slug: str,
    apply: bool,
    invite: bool,
    invite_budget: int,
    invite_per_minute: int,
    csv_file: Path,
) -> None:
    """Import CSV_FILE (phone, name[, birthday, email, locale, balance, marketing_consent]).

    Runs dry unless --apply; with any error nothing is created. With --invite the dry
    run says how many members would be invited and what the SMS would cost."""
    data = csv_file.read_bytes()
    estimate = None
    started: tuple[int, str] | None = None  # campaign id, when sending begins (local)
    with opened(settings) as services, domain_errors():
        channel = import_invites.channel(services.messaging.channels_on) if invite else None
        if channel is not None:
            # Validated and priced before the write transaction: no lock is held while
            # the gateway answers.
            with services.transaction(write=False) as session:
                program = programs.get_program(session, slug)
                dry = imports.import_members(
                    session, services.clock, program, data, apply=False, actor="cli"
                )
            people = import_invites.invitable(dry.consenting, channel)
            estimate = import_invites.quote(
                services.messaging.sms, program, people, channel, settings.public_url
            )
        with services.transaction() as session:
            program = programs.get_program(session, slug)
            report = imports.import_members(
                session, services.clock, program, data, apply=apply, actor="cli"
            )
            if apply and estimate is not None and channel is not None and report.valid:
                campaign, begins = import_invites.start(
                    session,
                    services.clock,
                    program,
                    channel,
                    report.consenting_members,
                    estimate,
                    "cli",
                    daily_budget=invite_budget,
                    per_minute=invite_per_minute,
                )
                local = begins.astimezone(ZoneInfo(program.timezone))
                started = (campaign.id, f"{local:%Y-%m-%d %H:%M}")
    for line, field, problem in report.errors[:200]:
        click.echo(f"line {line}: {field} {problem}", err=True)
    if len(report.errors) > 200:
        click.echo(f"… and {len(report.errors) - 200} more problems", err=True)
    click.echo(f"{report.rows} rows, {report.ok} valid, {len(report.errors)} problems")
    if report.errors:
        raise SystemExit(1)
    if apply:
        click.echo(f"created {report.created} members, carried over {report.points} points")
    else:
        click.echo("dry run: nothing created (add --apply)")
    if not invite:
        return
    if channel is None:
        why = "; ".join(f"{k}: {v}" for k, v in sorted(services.messaging.off.items()))
        click.echo(f"invites: the channel is off ({why}); nobody is invited")
        return
    assert estimate is not None
    how = "by SMS" if channel == "sms" else "by e-mail"
    if started is None:
        click.echo(f"invites: would invite {estimate.recipients} members {how}")
    else:
        campaign_id, at = started
        click.echo(
            f"invites: invite campaign #{campaign_id} for {estimate.recipients} members {how}, "
            f"sending from {at} (program time)"
        )
    if channel == "sms":
        if estimate.cost_minor is None:
            click.echo(f"invites: the gateway gave no quote ({estimate.error or 'no answer'})")
        else:
            approx = "about " if estimate.extrapolated else ""
            click.echo(
                f"invites: estimated SMS cost {approx}{estimate.cost_minor / 100:.2f} RUB "
                f"(gateway quote), {estimate.refused} numbers refused"
            )


@members.command("export")
@click.option("--program", "slug", required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def members_export(settings: Settings, slug: str, output: Path) -> None:
    """Write every member with card number, tier, balance and stage to a CSV file."""
    with (
        transaction(settings, write=False) as (session, _services),
        output.open("w", encoding="utf-8", newline="") as out,
    ):
        program = programs.get_program(session, slug)
        count = -1
        for line in imports.export_members(session, program):
            out.write(line)
            count += 1
    click.echo(f"wrote {count} members to {output}")
