"""Console page of a program's rules: lifecycle thresholds, quiet hours, frequency cap,
when the install bonus is paid, and the order of the Android wallet apps on the card page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.passes.install_links import APPS
from app.services import installs, program_rules
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program


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
        bonus_when=bonus_when or program.install_bonus_when,
        bonus_when_choices=list(installs.BONUS_WHEN),
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
    flash(_("Saved."))
    return redirect(url_for("console.rules_page", slug=slug), code=303)  # type: ignore[return-value]
