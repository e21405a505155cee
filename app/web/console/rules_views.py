"""Console page of a program's rules: lifecycle thresholds, quiet hours, frequency cap,
when the install bonus is paid, and the order of the Android wallet apps on the card page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.passes.install_links import APPS
from app.services import program_rules
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _, current_locale
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program

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


BONUS_WHEN_LABELS = {
    "on_install": ("When the card is added to a wallet", "Когда карту добавили в кошелёк"),
    "on_first_purchase": (
        "With the first purchase after adding the card (stops bonus farming by scripts)",
        "С первой покупкой после добавления карты (защита от накрутки скриптами)",
    ),
}


def bonus_when_label(key: str) -> str:
    en, ru = BONUS_WHEN_LABELS[key]
    return ru if current_locale() == "ru" else en


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
    bonus_when: str | None = None,
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
        bonus_when=bonus_when or program.install_bonus_when,
        bonus_when_choices=list(BONUS_WHEN_LABELS),
        bonus_when_label=bonus_when_label,
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
    bonus_when = request.form.get(program_rules.BONUS_WHEN_FIELD)
    if bonus_when is not None:
        submitted[program_rules.BONUS_WHEN_FIELD] = bonus_when
    if sent_apps:
        submitted[program_rules.APPS_FIELD] = " ".join(chosen)
    else:
        chosen = program_rules.wallet_apps(program)
    if not csrf_valid():
        return _page(
            program,
            values,
            chosen,
            {},
            400,
            _("The form has expired. Please check the values and send it again."),
            bonus_when,
        )
    try:
        program_rules.apply(
            db(),
            services().clock,
            program,
            submitted,
            current_staff() or "console",
        )
    except ValidationError as exc:
        return _page(
            program,
            values,
            chosen,
            exc.fields,
            422,
            _("Please correct the fields below."),
            bonus_when,
        )
    flash("Сохранено." if current_locale() == "ru" else "Saved.")
    return redirect(url_for("console.rules_page", slug=slug), code=303)  # type: ignore[return-value]
