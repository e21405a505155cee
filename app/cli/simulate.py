"""`walletpass simulate`: a seeded chain written into the database (--bulk) or played
against a running service (live); `walletpass demo seed --history` uses the former."""

from __future__ import annotations

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli.common import limit_option, opened
from app.clock import Clock
from app.loyalty.models import Program
from app.services.programs import seed_demo
from app.settings import Settings
from app.simulate import bulk, model
from app.till.models import Receipt

# What `walletpass demo seed --history` (and `walletpass run`) give the demo program.
DEMO_HISTORY = model.Spec(seed=7, members=2_000, receipts=20_000, stores=12, days=120)


def seed_history(session: Session, clock: Clock, program: Program, spec: model.Spec) -> bool:
    """Give ``program`` the simulated history unless it has receipts already
    (idempotent: `walletpass run` calls it on every start)."""
    if session.scalar(select(func.count()).where(Receipt.program_id == program.id)):
        return False
    end = clock.now().replace(minute=0, second=0, microsecond=0)
    bulk.simulate(session, clock, program, model.Spec(**{**spec.__dict__, "end": end}))
    return True


@click.command()
@click.option("--program", "slug", default="demo", show_default=True, help="Program slug.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same chain.")
@click.option("--bulk", "bulk_mode", is_flag=True, help="Write a history into the database.")
@limit_option("--members", 2_000)
@click.option("--receipts", default=20_000, show_default=True, type=click.IntRange(0))
@limit_option("--stores", 20)
@limit_option("--days", 120)
@click.option("--campaigns", default=1, show_default=True, type=click.IntRange(0))
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Live mode.")
@click.option("--rate", default=5.0, show_default=True, type=float, help="Live: actions/s.")
@click.option("--duration", default=60.0, show_default=True, type=float, help="Live: seconds.")
@click.option("--terminal-key", envvar="WALLETPASS_SIMULATE_TERMINAL_KEY", help="Live: POS key.")
@click.option("--crm-token", envvar="WALLETPASS_SIMULATE_CRM_TOKEN", help="Live: staff API.")
@click.pass_obj
def simulate(
    settings: Settings,
    slug: str,
    seed: int,
    bulk_mode: bool,
    members: int,
    receipts: int,
    stores: int,
    days: int,
    campaigns: int,
    url: str,
    rate: float,
    duration: float,
    terminal_key: str | None,
    crm_token: str | None,
) -> None:
    """Simulate a chain's shoppers. With --bulk: write a seeded history (stores,
    members, wallet installs, receipts, campaigns with a known true effect) into the
    database. Without: enroll, install and shop against the service at --url."""
    if not bulk_mode:
        from app.simulate import live

        if rate <= 0 or duration <= 0:
            raise click.BadParameter("--rate and --duration must be positive")
        driver = live.Driver(url, slug, seed=seed, terminal_key=terminal_key, crm_token=crm_token)
        done = driver.run(rate=rate, duration=duration)
        click.echo(live.summary(done))
        return
    with opened(settings) as services, services.transaction() as session:
        program = session.scalar(select(Program).where(Program.slug == slug))
        if program is None:
            if slug != "demo":
                raise click.ClickException(f"no program {slug!r}")
            program = seed_demo(session, services.clock)
        end = services.clock.now().replace(minute=0, second=0, microsecond=0)
        spec = model.Spec(seed, members, receipts, stores, days, end, campaigns)
        result = bulk.simulate(session, services.clock, program, spec)
    click.echo(
        f"simulated {result.members} members, {result.receipts} receipts, "
        f"{result.campaigns} campaigns in {result.seconds:.1f} s "
        f"({result.members_per_s:,.0f} members/s, {result.receipts_per_s:,.0f} receipts/s)"
    )
