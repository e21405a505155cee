"""`walletpass doctor`: one line per check of a deployment, non-zero exit on failure."""

from __future__ import annotations

import logging

import click

from app.doctor import CHECKS, Status, run_checks

_COLORS = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red"}


@click.command(epilog="Checks, in order: settings, " + ", ".join(name for name, _ in CHECKS) + ".")
def doctor() -> None:
    """Check settings, certificates, database, queue, limits, APNs, Google and relays.

    Prints one line per check: ok, warn, skip or FAIL, then what was found. Exits
    with 1 when any check FAILs. Warnings (a certificate that expires within 30
    days, say) are shown but do not change the exit code; skipped checks do not
    apply to this configuration. Nothing is changed and no push is sent.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
    failed = False
    for result in run_checks():
        failed = failed or result.status is Status.FAIL
        click.secho(result.line(), fg=_COLORS.get(result.status))
    if failed:
        raise SystemExit(1)
