"""`walletpass users`: staff accounts for the console."""

from __future__ import annotations

import sys

import click

from app.bootstrap import build_services
from app.errors import DomainError
from app.loyalty.errors import ValidationError
from app.services import staff
from app.settings import Settings
from app.staff.models import ROLES


@click.group()
def users() -> None:
    """Staff accounts."""


@users.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def users_add(settings: Settings, email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (the first admin too). The password is asked for, never
    taken as an argument, so it stays out of shell history and process lists."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    services = build_services(settings)
    try:
        with services.transaction() as session:
            user = staff.add_user(
                session,
                services.clock,
                email=email,
                name=name,
                role=role,
                password=password,
                actor="cli",
            )
            click.echo(f"created {user.role} {user.email}")
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{field} {problem}" for field, problem in exc.fields.items())
        ) from None
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.close()


@users.command("token")
@click.option("--email", required=True, help="The staff user the token acts for.")
@click.option("--name", required=True, help="What uses it, e.g. 'crm'.")
@click.pass_obj
def users_token(settings: Settings, email: str, name: str) -> None:
    """Create an API token for /api/v1 (printed once; store it in the CRM)."""
    services = build_services(settings)
    try:
        with services.transaction() as session:
            user = staff.find_user(session, email)
            if user is None:
                raise click.ClickException(f"no staff user {email!r}")
            click.echo(staff.create_api_token(session, services.clock, user, name))
    finally:
        services.close()
