"""`walletpass programs create|list`: programs for scripting (the console does the same)."""

from __future__ import annotations

import click

from app.cli.common import opened, transaction
from app.services import program_admin
from app.settings import Settings

TIER_HELP = (
    "CODE:NAME:DISCOUNT[:staff|:spend=AMOUNT] (repeatable; the one without a suffix is the "
    "tier every new card gets), e.g. base:Друг:7 or large_family:Многодетная семья:15:staff"
)


@click.group("programs")
def programs_group() -> None:
    """Loyalty programs."""


def parse_tier(spec: str) -> dict[str, str]:
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise click.BadParameter(f"{spec!r}: write {TIER_HELP}", param_hint="--tier")
    code, name, discount = parts[:3]
    grant, threshold = "default", ""
    if len(parts) == 4:
        how = parts[3].strip()
        if how == "staff":
            grant = "staff"
        elif how.startswith("spend="):
            grant, threshold = "spend", how.removeprefix("spend=")
        else:
            raise click.BadParameter(f"{spec!r}: end with :staff or :spend=AMOUNT")
    return {
        "code": code,
        "name_ru": name,
        "discount": discount,
        "grant": grant,
        "threshold": threshold,
    }


@programs_group.command("create")
@click.option("--slug", required=True, help="Short name for addresses: /join/<slug>.")
@click.option("--name", required=True, help="The program's name.")
@click.option("--brand", required=True, help="The brand shown on cards.")
@click.option("--timezone", default="Europe/Moscow", show_default=True)
@click.option("--currency", default="RUB", show_default=True)
@click.option("--locale", default="ru", show_default=True, help="Main language: ru or en.")
@click.option("--earn-rate", default="5", show_default=True, help="Points earned, % of paid.")
@click.option("--redeem-share", default="30", show_default=True, help="Max % points may pay.")
@click.option("--point-value", default="1", show_default=True, help="Money one point is worth.")
@click.option("--install-bonus", default="0", show_default=True, help="Points for the install.")
@click.option("--install-bonus-days", default="", help="Days the install bonus lasts.")
@click.option("--birthday-bonus", default="0", show_default=True, help="Birthday points.")
@click.option("--birthday-bonus-days", default="", help="Days the birthday bonus lasts.")
@click.option("--expiry-days", default="", help="Days earned points last (empty: forever).")
@click.option("--tier", "tiers", multiple=True, required=True, help=TIER_HELP)
@click.pass_obj
def programs_create(settings: Settings, /, **options: str | tuple[str, ...]) -> None:
    """Create a program with its tiers; prints its slug and join page."""
    specs = options.pop("tiers")
    assert isinstance(specs, tuple)
    tiers = [parse_tier(spec) for spec in specs]
    o = {k: str(v) for k, v in options.items()}
    values = {
        "slug": o["slug"],
        "name": o["name"],
        "brand_name": o["brand"],
        "timezone": o["timezone"],
        "currency": o["currency"],
        "default_locale": o["locale"],
        "earn_rate": o["earn_rate"],
        "redeem_share": o["redeem_share"],
        "point_value": o["point_value"],
        "registration_bonus": o["install_bonus"],
        "registration_bonus_days": o["install_bonus_days"],
        "birthday_bonus": o["birthday_bonus"],
        "birthday_bonus_days": o["birthday_bonus_days"],
        "points_validity_days": o["expiry_days"],
    }
    with transaction(settings, field_sep=" ") as (session, services):
        program = program_admin.create_program(session, services.clock, values, tiers, "cli")
        click.echo(f"created program {program.slug}: {settings.public_url}/join/{program.slug}")


@programs_group.command("list")
@click.pass_obj
def programs_list(settings: Settings) -> None:
    """Programs: slug, state, brand, tiers with their discounts."""
    with opened(settings) as services, services.transaction(write=False) as session:
        for p in program_admin.list_programs(session):
            state = "archived" if p.archived_at else "active"
            tiers = ", ".join(f"{t.code} {t.discount_bp / 100:g}%" for t in p.tiers)
            click.echo(f"{p.slug}\t{state}\t{p.brand_name}\t{tiers}")
