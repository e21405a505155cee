"""`walletpass members import|export`: moving a customer base from or to another system."""

from __future__ import annotations

from pathlib import Path

import click

from app.bootstrap import build_services
from app.errors import DomainError
from app.loyalty.errors import ValidationError
from app.services import imports, programs
from app.settings import Settings


@click.group()
def members() -> None:
    """Members of a program."""


@members.command("import")
@click.option("--program", "slug", required=True)
@click.option("--apply", is_flag=True, help="Create the members (without it: a dry run).")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def members_import(settings: Settings, slug: str, apply: bool, csv_file: Path) -> None:
    """Import CSV_FILE (phone, name[, birthday, email, locale, balance, marketing_consent]).

    Runs dry unless --apply; with any error nothing is created."""
    services = build_services(settings)
    try:
        with services.transaction() as session:
            program = programs.get_program(session, slug)
            report = imports.import_members(
                session, services.clock, program, csv_file.read_bytes(), apply=apply, actor="cli"
            )
    except ValidationError as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
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


@members.command("export")
@click.option("--program", "slug", required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def members_export(settings: Settings, slug: str, output: Path) -> None:
    """Write every member with card number, tier, balance and stage to a CSV file."""
    services = build_services(settings)
    try:
        with (
            services.transaction(write=False) as session,
            output.open("w", encoding="utf-8", newline="") as out,
        ):
            program = programs.get_program(session, slug)
            count = -1
            for line in imports.export_members(session, program):
                out.write(line)
                count += 1
        click.echo(f"wrote {count} members to {output}")
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()
