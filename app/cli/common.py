"""What the commands share: services opened for one command, one transaction on them,
domain errors as one-line messages, the web app under gunicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from app.bootstrap import Services, build_services
from app.errors import DomainError
from app.loyalty.errors import ValidationError
from app.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def limit_option(
    name: str, default: int, most: int | None = None, help: str | None = None
) -> Callable[[F], F]:
    """An option taking a whole number from 1 to ``most`` (no upper bound: None), with its
    default shown in --help."""
    option: Callable[[F], F] = click.option(
        name, default=default, type=click.IntRange(1, most), show_default=True, help=help
    )
    return option


@contextmanager
def opened(settings: Settings) -> Iterator[Services]:
    """The services for one command, closed when it ends (an error too)."""
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


@contextmanager
def domain_errors(field_sep: str = ": ") -> Iterator[None]:
    """A domain error ends the command with its message (exit code 1); a validation error
    lists ``field<field_sep>problem`` pairs."""
    try:
        yield
    except ValidationError as exc:
        pairs = (f"{field}{field_sep}{problem}" for field, problem in exc.fields.items())
        raise click.ClickException("; ".join(pairs)) from None
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def transaction(
    settings: Settings, *, write: bool = True, field_sep: str = ": "
) -> Iterator[tuple[Session, Services]]:
    """One unit of work on services opened for it: committed when the block ends, rolled
    back on an error, which ``domain_errors`` turns into a message."""
    with (
        opened(settings) as services,
        domain_errors(field_sep),
        services.transaction(write=write) as session,
    ):
        yield session, services


def serve_web(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    """The web app under gunicorn until it is stopped; each worker process builds its own."""
    from app.web import create_app
    from app.web.server import serve

    serve(
        lambda: create_app(settings),
        host=host,
        port=port,
        instance_dir=settings.instance_dir,
        workers=workers,
        threads=threads,
    )
