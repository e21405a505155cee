"""Rules a marketer tunes: lifecycle thresholds, quiet hours, the frequency cap, when the
install bonus is paid, and the order in which the card page offers the Android wallet
apps."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.bounds import whole_number
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.passes import install_links
from app.services.installs import BONUS_WHEN
from app.services.staff import audit
from app.staff.models import StaffUser

# field -> (lowest, highest)
FIELDS: dict[str, tuple[int, int]] = {
    "newcomer_days": (1, 365),
    "at_risk_after_days": (1, 730),
    "lost_after_days": (2, 1460),
    "quiet_start_hour": (0, 23),
    "quiet_end_hour": (0, 23),
    "frequency_cap_days": (0, 90),
    # A loyal buyer (KPIs): at least N purchases within the last D days.
    "loyal_min_purchases": (2, 1000),
    "loyal_window_days": (7, 1460),
}


APPS_FIELD = "android_wallet_apps"
BONUS_WHEN_FIELD = "install_bonus_when"


def form(program: Program) -> dict[str, str]:
    return {name: str(getattr(program, name)) for name in FIELDS}


def wallet_apps(program: Program) -> list[str]:
    """The program's order of Android wallet apps (the default one until it sets its own)."""
    return install_links.program_order(program.android_wallet_apps)


def apply(
    session: Session, clock: Clock, program: Program, values: dict[str, str], actor: StaffUser | str
) -> bool:
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for name, (low, high) in FIELDS.items():
        number = whole_number(values.get(name, str(getattr(program, name))))
        if number is None or not low <= number <= high:
            errors[name] = f"must be a whole number from {low} to {high}"
        else:
            clean[name] = number
    if not errors and clean["lost_after_days"] <= clean["at_risk_after_days"]:
        errors["lost_after_days"] = "must be more than the days before “at risk”"
    bonus_when = values.get(BONUS_WHEN_FIELD, program.install_bonus_when).strip()
    if bonus_when not in BONUS_WHEN:
        errors[BONUS_WHEN_FIELD] = f"must be one of: {', '.join(BONUS_WHEN)}"
    apps = wallet_apps(program)
    if APPS_FIELD in values:
        try:
            apps = install_links.parse_order(values[APPS_FIELD])
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    changed: dict[str, object] = {n: v for n, v in clean.items() if getattr(program, n) != v}
    if bonus_when != program.install_bonus_when:
        changed[BONUS_WHEN_FIELD] = bonus_when
    if apps != wallet_apps(program):
        changed[APPS_FIELD] = apps
    for name, value in changed.items():
        setattr(program, name, value)
    if changed:
        session.flush()
        audit(session, clock, actor, "program.rules_updated", program.slug, changed)
    return bool(changed)
