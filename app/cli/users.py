"""`walletpass users`: staff accounts for the console."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from app.cli.common import opened, transaction
from app.clock import Clock
from app.loyalty.models import Store
from app.services import programs, staff, staff_scope
from app.settings import Settings
from app.staff.models import ROLES, StaffUser


@click.group()
def users() -> None:
    """Staff accounts."""


@users.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--program", "program_slugs", multiple=True, help="A program they work on (repeatable)."
)
@click.pass_obj
def users_add(
    settings: Settings,
    email: str,
    name: str,
    role: str,
    password_stdin: bool,
    program_slugs: tuple[str, ...],
) -> None:
    """Create a staff account (the first admin too). The password is asked for, never
    taken as an argument, so it stays out of shell history and process lists.
    Admins see every program; others only those given with --program."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _unit(settings) as (session, clock):
        user = staff.add_user(
            session,
            clock,
            email=email,
            name=name,
            role=role,
            password=password,
            actor="cli",
            programs=[programs.get_program(session, slug) for slug in program_slugs],
        )
        click.echo(f"created {user.role} {user.email}")


@users.command("token")
@click.option("--email", required=True, help="The staff user the token acts for.")
@click.option("--name", required=True, help="What uses it, e.g. 'crm'.")
@click.pass_obj
def users_token(settings: Settings, email: str, name: str) -> None:
    """Create an API token for /api/v1 (printed once; store it in the CRM)."""
    with opened(settings) as services, services.transaction() as session:
        click.echo(staff.create_api_token(session, services.clock, _user(session, email), name))


@contextmanager
def _unit(settings: Settings) -> Iterator[tuple[Session, Clock]]:
    """One transaction; domain errors become one-line messages."""
    with transaction(settings, field_sep=" ") as (session, services):
        yield session, services.clock


def _user(session: Session, email: str) -> StaffUser:
    user = staff.find_user(session, email)
    if user is None:
        raise click.ClickException(f"no staff user {email!r}")
    return user


def _new_password() -> str:
    """Asked twice without echo on a terminal; two lines of standard input otherwise."""
    if sys.stdin.isatty():
        password: str = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        return password
    first, second = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
    if first != second:
        raise click.ClickException("the two passwords differ")
    return first


@users.command("passwd")
@click.option("--email", required=True)
@click.pass_obj
def users_passwd(settings: Settings, email: str) -> None:
    """Set a new password (asked twice, not echoed); the user's sessions end."""
    password = _new_password()
    with _unit(settings) as (session, clock):
        staff.change_password(session, clock, _user(session, email), password, actor="cli")
    click.echo(f"password changed for {email}; their console sessions have ended")


def _set_disabled(settings: Settings, email: str, disabled: bool) -> None:
    with _unit(settings) as (session, clock):
        staff.set_disabled(session, clock, _user(session, email), disabled, actor="cli")
    click.echo(f"{'disabled' if disabled else 'enabled'} {email}")


@users.command("disable")
@click.option("--email", required=True)
@click.pass_obj
def users_disable(settings: Settings, email: str) -> None:
    """Disable an account: its sessions and API tokens stop working at once."""
    _set_disabled(settings, email, True)


@users.command("enable")
@click.option("--email", required=True)
@click.pass_obj
def users_enable(settings: Settings, email: str) -> None:
    """Enable a disabled account again."""
    _set_disabled(settings, email, False)


@users.command("tokens")
@click.option("--email", required=True)
@click.pass_obj
def users_tokens(settings: Settings, email: str) -> None:
    """List a user's API tokens (id, prefix, name, created, revoked)."""
    with _unit(settings) as (session, _clock):
        for token in staff.list_tokens(session, _user(session, email)):
            revoked = token.revoked_at.isoformat() if token.revoked_at else "active"
            created = token.created_at.isoformat()
            click.echo(f"{token.id}\t{token.prefix}\t{token.name}\t{created}\t{revoked}")


@users.command("revoke-token")
@click.argument("token_id", type=int)
@click.pass_obj
def users_revoke_token(settings: Settings, token_id: int) -> None:
    """Revoke an API token by the id `users tokens` shows; it stops working at once."""
    with _unit(settings) as (session, clock):
        staff.revoke_token(session, clock, token_id, actor="cli")
    click.echo(f"revoked token {token_id}")


@users.command("scope")
@click.option("--email", required=True)
@click.option("--program", "program_slugs", multiple=True, help="A program (repeatable).")
@click.option("--store", "store_codes", multiple=True, help="PROGRAM/STORE-CODE (repeatable).")
@click.pass_obj
def users_scope(
    settings: Settings, email: str, program_slugs: tuple[str, ...], store_codes: tuple[str, ...]
) -> None:
    """Set the programs a marketer or store manager works on (and a store manager's
    stores); replaces what was set before."""
    with _unit(settings) as (session, clock):
        chosen = [programs.get_program(session, slug) for slug in program_slugs]
        stores: list[Store] = []
        for code in store_codes:
            slug, _, store_code = code.partition("/")
            program = programs.get_program(session, slug)
            store = next((s for s in program.stores if s.code == store_code), None)
            if store is None:
                raise click.ClickException(f"no store {code!r} (write PROGRAM/STORE-CODE)")
            stores.append(store)
        staff_scope.set_scope(session, clock, _user(session, email), chosen, stores, actor="cli")
    click.echo(f"{email}: programs {', '.join(program_slugs) or '-'}")
