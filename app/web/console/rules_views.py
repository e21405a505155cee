"""Console page of a program's rules: lifecycle thresholds, quiet hours, frequency cap,
and the order of the Android wallet apps on the card page."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.passes.install_links import APPS
from app.services import program_rules
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.console.texts import tx
from app.web.db import db, services
from app.web.i18n import current_locale
from app.web.security import csrf_valid

LABELS = {
    "newcomer_days": ("A newcomer for (days)", "Новичок в течение (дней)"),
    "at_risk_after_days": (
        "“At risk” after no purchase for (days)",
        "«Под угрозой» без покупок (дней)",
    ),
    "lost_after_days": ("“Lost” after no purchase for (days)", "«Ушёл» без покупок (дней)"),
    "quiet_start_hour": ("Quiet hours start (local hour)", "Тихие часы с (час)"),
    "quiet_end_hour": ("Quiet hours end (local hour)", "Тихие часы до (час)"),
    "frequency_cap_days": (
        "At most one offer per card every (days)",
        "Не чаще одного предложения на карту в (дней)",
    ),
    "loyal_min_purchases": (
        "A loyal buyer makes at least (purchases)",
        "Лояльный покупатель делает не меньше (покупок)",
    ),
    "loyal_window_days": (
        "… within the last (days)",
        "… за последние (дней)",
    ),
}


def label(name: str) -> str:
    en, ru = LABELS[name]
    return ru if current_locale() == "ru" else en


def _page(
    program: Program,
    values: dict[str, str],
    apps: list[str],
    errors: dict[str, str],
    status: int = 200,
    notice: str | None = None,
) -> Response:
    # One select per position; the empty ones after the chosen apps leave room to add.
    slots = apps + [""] * (len(APPS) - len(apps))
    return page(
        "console/rules.html",
        status,
        program=program,
        values=values,
        apps=slots,
        app_choices=APPS,
        errors=errors,
        notice=notice,
        label=label,
    )


@bp.get("/programs/<slug>/rules")
@require(*DESIGN_ROLES)
def rules_page(slug: str) -> Response:
    program = _program(slug)
    return _page(program, program_rules.form(program), program_rules.wallet_apps(program), {})


@bp.post("/programs/<slug>/rules")
@require(*DESIGN_ROLES)
def rules_save(slug: str) -> Response:
    program = _program(slug)
    # A rule the form did not send keeps its value (a form from before the rule existed).
    values = {
        name: request.form.get(name, current)
        for name, current in program_rules.form(program).items()
    }
    sent_apps = program_rules.APPS_FIELD in request.form
    chosen = [key for key in request.form.getlist(program_rules.APPS_FIELD) if key.strip()]
    submitted = dict(values)
    if sent_apps:
        submitted[program_rules.APPS_FIELD] = " ".join(chosen)
    else:
        chosen = program_rules.wallet_apps(program)
    if not csrf_valid():
        return _page(program, values, chosen, {}, 400, tx("form.expired"))
    try:
        program_rules.apply(
            db(),
            services().clock,
            program,
            submitted,
            current_staff() or "console",
        )
    except ValidationError as exc:
        return _page(program, values, chosen, exc.fields, 422, tx("form.errors"))
    flash("Сохранено." if current_locale() == "ru" else "Saved.")
    return redirect(url_for("console.rules_page", slug=slug), code=303)  # type: ignore[return-value]
