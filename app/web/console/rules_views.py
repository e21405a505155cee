"""Console page of a program's rules: lifecycle thresholds, quiet hours, frequency cap."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
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
}


def label(name: str) -> str:
    en, ru = LABELS[name]
    return ru if current_locale() == "ru" else en


@bp.get("/programs/<slug>/rules")
@require(*DESIGN_ROLES)
def rules_page(slug: str) -> Response:
    program = _program(slug)
    return page(
        "console/rules.html",
        program=program,
        values=program_rules.form(program),
        errors={},
        label=label,
    )


@bp.post("/programs/<slug>/rules")
@require(*DESIGN_ROLES)
def rules_save(slug: str) -> Response:
    program = _program(slug)
    values = {name: request.form.get(name, "") for name in program_rules.FIELDS}
    if not csrf_valid():
        return page(
            "console/rules.html",
            400,
            program=program,
            values=values,
            errors={},
            notice=tx("form.expired"),
            label=label,
        )
    try:
        program_rules.apply(db(), services().clock, program, values, current_staff() or "console")
    except ValidationError as exc:
        return page(
            "console/rules.html",
            422,
            program=program,
            values=values,
            errors=exc.fields,
            notice=tx("form.errors"),
            label=label,
        )
    flash("Сохранено." if current_locale() == "ru" else "Saved.")
    return redirect(url_for("console.rules_page", slug=slug), code=303)  # type: ignore[return-value]
