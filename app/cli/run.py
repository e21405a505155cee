"""`walletpass run`: the development all-in-one (migrate, seed the demo, serve, one worker)."""

from __future__ import annotations

import subprocess
import sys

import click

from app.bootstrap import upgrade_database
from app.cli.common import opened, serve_web
from app.cli.simulate import DEMO_HISTORY, seed_history
from app.services.programs import seed_demo
from app.settings import Settings, ensure_instance_dir


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Web processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
@click.option("--no-demo", is_flag=True, help="Do not create the demo program.")
@click.pass_obj
def run(
    settings: Settings, host: str, port: int, workers: int, threads: int, no_demo: bool
) -> None:
    """Run the service for development (database migrated, dev certificates and demo
    program created, a worker beside it). Production uses `walletpass serve`."""
    ensure_instance_dir(settings.instance_dir)
    upgrade_database(settings.database_url)
    with opened(settings) as services:  # closed: no pooled connection may cross the fork
        if not no_demo:
            with services.transaction() as session:
                program = seed_demo(session, services.clock)
                # A fresh clone's console shows a few months of shoppers, not zeros.
                seed_history(session, services.clock, program, DEMO_HISTORY)
        uses_dev_certs = services.signing_identity.is_development
    base = f"http://{host}:{port}"
    click.echo("walletpass is starting:")
    click.echo(f"  enrollment form   {base}/join/demo")
    click.echo(f"  QR poster (PNG)   {base}/join/demo/poster.png")
    click.echo(f"  QR poster (PDF)   {base}/join/demo/poster.pdf")
    click.echo(f"  enrollment API    POST {base}/api/v1/programs/demo/enrollments")
    click.echo(
        f"  cashier page      {base}/pos  (walletpass terminals add --program demo --name Till)"
    )
    click.echo(f"  staff console     {base}/console/")
    click.echo(
        "    first admin:    .venv/bin/walletpass users add --email you@example.com "
        '--name "Your Name" --role admin   (asks for the password)'
    )
    click.echo(f"  public URL in passes: {settings.public_url} (WALLETPASS_PUBLIC_URL)")
    if uses_dev_certs:
        click.echo(
            f"  passes are signed with development certificates from {settings.dev_certs_dir}"
        )
    # One worker process beside the web server delivers pass updates.
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"])
    try:
        serve_web(settings, host=host, port=port, workers=workers, threads=threads)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
