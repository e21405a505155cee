"""`walletpass serve`: the production web server."""

from __future__ import annotations

import click

from app import metrics
from app.bootstrap import load_identity, migration_state
from app.cli.common import limit_option, serve_web
from app.clock import SystemClock
from app.settings import Settings


def check_can_serve(settings: Settings) -> None:
    """Refuse to start on a schema behind the code or, in production, on passes that
    no iPhone would accept. Opens nothing that outlives the check (we fork next)."""
    state = migration_state(settings.database_url)
    if not state.at_head:
        raise click.ClickException(
            f"the database is at migration {state.current or 'none (empty)'}, this code "
            f"needs {state.head}: run `walletpass db upgrade` first"
        )
    if settings.is_production and load_identity(settings, SystemClock()).is_development:
        raise click.ClickException(
            "WALLETPASS_APPLE_CERT is a development certificate (walletpass certs dev): "
            "production needs the Pass Type ID certificate from Apple"
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@limit_option("--workers", 2, 64, "Processes.")
@limit_option("--threads", 8, 256, "Per process.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app in production: no demo data, no fakes, no migrations.

    Run `walletpass db upgrade` before; pass updates are delivered by separate
    `walletpass worker` processes (as many as needed, on any machine).
    """
    check_can_serve(settings)
    # The master owns the metrics folder too: it folds a dead worker's files at once.
    metrics.configure(settings.metrics_dir)
    click.echo(f"walletpass serving {settings.public_url} on {host}:{port} ({workers}×{threads})")
    serve_web(settings, host=host, port=port, workers=workers, threads=threads)
