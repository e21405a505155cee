"""`walletpass poster`: a printable QR poster for a program."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import opened
from app.loyalty.errors import LoyaltyError
from app.services import posters, programs
from app.settings import Settings


@click.command()
@click.argument("program")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; .png or .pdf.",
)
@click.option(
    "--size", type=click.Choice(sorted(posters.PAPER_SIZES)), default="a4", show_default=True
)
@click.option(
    "--lang",
    type=click.Choice(["ru", "en"]),
    default=None,
    help="Language (default: the program's).",
)
@click.pass_obj
def poster(settings: Settings, program: str, output: Path, size: str, lang: str | None) -> None:
    """Render the QR poster of PROGRAM (its slug) to a PNG or PDF file."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise click.BadParameter("the output file must end in .png or .pdf", param_hint="--output")
    with opened(settings) as services, services.transaction(write=False) as session:
        try:
            found = programs.get_program(session, program)
        except LoyaltyError as exc:
            raise click.ClickException(str(exc)) from None
        join_url = f"{settings.public_url}/join/{found.slug}"
        data = posters.render(
            services.templates,
            found,
            join_url,
            locale=lang or found.default_locale,
            size=size,
            fmt=fmt,
        )
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(data) // 1024} KiB) for {join_url}")
