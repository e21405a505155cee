"""`walletpass certs`: development certificates and checks of the real ones."""

from __future__ import annotations

import click

from app.bootstrap import certificate_report, dev_chain_paths, load_identity
from app.clock import SystemClock
from app.passes.apple.certs import CertificateError, generate_dev_chain
from app.settings import Settings


@click.group()
def certs() -> None:
    """Pass-signing certificates."""


@certs.command("dev")
@click.option("--force", is_flag=True, help="Replace an existing development chain.")
@click.pass_obj
def certs_dev(settings: Settings, force: bool) -> None:
    """Create a local CA chain that mimics Apple's (root -> WWDR-like -> Pass Type ID)."""
    paths = dev_chain_paths(settings)
    if not force and all(p.is_file() for p in paths.values()):
        click.echo(f"development certificates already exist in {settings.dev_certs_dir}")
        click.echo("(use --force to replace them)")
        return
    chain = generate_dev_chain(
        settings.dev_certs_dir,
        settings.apple.pass_type_id,
        settings.apple.team_id,
        now=SystemClock().now(),
    )
    click.echo(f"created development chain in {settings.dev_certs_dir}:")
    for name in ("root_cert", "wwdr_cert", "pass_cert", "pass_key", "pass_p12"):
        click.echo(f"  {name:10} {getattr(chain, name)}")
    click.echo("passes signed with it verify against root.pem, but iPhones reject them")


@certs.command("check")
@click.pass_obj
def certs_check(settings: Settings) -> None:
    """Report the signing chain, the pass type id match and days to expiry."""
    clock = SystemClock()
    try:
        identity = load_identity(settings, clock)
    except CertificateError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.apple.uses_dev_certs:
        click.echo(f"using development certificates from {settings.dev_certs_dir}")
    report = certificate_report(settings, identity, clock)
    for line in report.lines:
        click.echo(line)
    for warning in report.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow")
    for error in report.errors:
        click.secho(f"ERROR: {error}", fg="red", err=True)
    if not report.ok:
        raise SystemExit(1)
    click.secho(f"OK: certificate valid for {report.days_left} more days", fg="green")
