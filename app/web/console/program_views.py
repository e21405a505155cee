"""Admins' programs pages: the list, a new program, editing one (settings and tiers),
archiving and restoring. Every change is audited by the service; what cards show is
pushed to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import google_class, program_admin
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.db import db, google_class_queue, services
from app.web.i18n import SOURCE_LOCALE, _, current_locale, lazy_pgettext, pgettext, service_error
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program

# The catalog's words for what the service says in English, by field.
FIELD_ERRORS = {
    "slug": lazy_pgettext(
        "field error", "2–40 lower-case latin letters, digits or “-”; not used by another program"
    ),
    "name": lazy_pgettext("field error", "Required (up to 100 characters)"),
    "brand_name": lazy_pgettext("field error", "Required (up to 100 characters)"),
    "timezone": lazy_pgettext("field error", "A time zone such as Europe/Moscow"),
    "default_locale": lazy_pgettext("field error", "ru or en"),
    "earn_rate": lazy_pgettext("field error", "A percent from 0 to 100 (up to two decimals)"),
    "redeem_share": lazy_pgettext("field error", "A percent from 0 to 100 (up to two decimals)"),
    "point_value": lazy_pgettext("field error", "An amount above 0, e.g. 1 or 0.50"),
    "registration_bonus": lazy_pgettext("field error", "A whole number of points from 0"),
    "birthday_bonus": lazy_pgettext("field error", "A whole number of points from 0"),
    "registration_bonus_days": lazy_pgettext(
        "field error", "Empty or a number of days from 1 to 3650"
    ),
    "birthday_bonus_days": lazy_pgettext("field error", "Empty or a number of days from 1 to 3650"),
    "points_validity_days": lazy_pgettext(
        "field error", "Empty or a number of days from 1 to 3650"
    ),
    "tiers": lazy_pgettext(
        "field error", "At least one level is needed, and exactly one for every new card"
    ),
    "code": lazy_pgettext(
        "field error", "1–40 lower-case latin letters, digits, “-” or “_”, no repeats"
    ),
    "name_ru": lazy_pgettext("field error", "Required (up to 60 characters)"),
    "name_en": lazy_pgettext("field error", "Up to 60 characters"),
    "discount": lazy_pgettext("field error", "A percent from 0 to 100"),
    "grant": lazy_pgettext("field error", "Choose how the level is given"),
    "threshold": lazy_pgettext("field error", "An amount above 0, only for a level by total spend"),
}
EXTRA_TIER_ROWS = 2


def error_text(key: str, english: str) -> str:
    """The message for an error key ("earn_rate", "tiers.1.discount") in the page's language."""
    name = key.rsplit(".", 1)[-1]
    if current_locale() != SOURCE_LOCALE:
        held = english.partition(program_admin.HELD_TIERS)[2]
        if held:  # which tiers hold cards, with their counts: the figures matter
            return _("These levels hold cards; move them to other levels first:") + held
        if name == "currency":
            currencies = ", ".join(program_admin.CURRENCIES)
            return pgettext(
                "field error", "One of the currencies: {currencies}", currencies=currencies
            )
    return service_error(english, FIELD_ERRORS.get(name))


def _program(slug: str) -> Program:
    program = program_admin.find_program(db(), slug)
    if program is None:
        abort(404)
    return program


def _tier_rows_from_form() -> list[dict[str, str]]:
    rows = []
    for i in range(program_admin.MAX_TIERS + EXTRA_TIER_ROWS):
        row = {f: request.form.get(f"tiers.{i}.{f}", "") for f in program_admin.TIER_FIELDS}
        rows.append(row)
    # Trailing empty rows are only room to add.
    while rows and not any(v.strip() for k, v in rows[-1].items() if k != "grant"):
        rows.pop()
    return rows


def _form_page(
    program: Program | None,
    values: dict[str, str],
    tiers: list[dict[str, str]],
    errors: dict[str, str],
    status: int = 200,
    notice: str | None = None,
) -> Response:
    room = min(EXTRA_TIER_ROWS, program_admin.MAX_TIERS - len(tiers))
    shown = tiers + [{"grant": "spend"} for _ in range(max(room, 0))]
    return page(
        "console/program_form.html",
        status,
        program=program,
        values=values,
        tiers=shown,
        errors=errors,
        notice=notice,
        error_text=error_text,
        fields=[f for f in program_admin.FIELDS if program is None or f != "slug"],
        tier_fields=program_admin.TIER_FIELDS,
        grants=program_admin.GRANTS,
        currencies=program_admin.CURRENCIES,
    )


def _push_class(program_id: int) -> None:
    # Google keeps the program's name on the class.
    google_class.resend_after_commit(db(), google_class_queue(), program_id)


@bp.get("/programs")
@require("admin")
def program_list() -> Response:
    return page("console/programs.html", programs=program_admin.list_programs(db()))


@bp.get("/programs/new")
@require("admin")
def program_new() -> Response:
    return _form_page(None, program_admin.form(None), program_admin.tier_rows(None), {})


@bp.post("/programs/new")
@require("admin")
def program_create() -> Response:
    values = {f: request.form.get(f, "") for f in program_admin.FIELDS}
    tiers = _tier_rows_from_form()
    if not csrf_valid():
        return _form_page(
            None,
            values,
            tiers,
            {},
            400,
            _("The form has expired. Please check the values and send it again."),
        )
    try:
        program = program_admin.create_program(
            db(), services().clock, values, tiers, current_staff() or "console"
        )
    except ValidationError as exc:
        return _form_page(
            None, values, tiers, exc.fields, 422, _("Please correct the fields below.")
        )
    flash(_("The program is created."))
    return redirect(url_for("console.program_edit", slug=program.slug), code=303)  # type: ignore[return-value]


@bp.get("/programs/<slug>/edit")
@require("admin")
def program_edit(slug: str) -> Response:
    program = _program(slug)
    return _form_page(program, program_admin.form(program), program_admin.tier_rows(program), {})


@bp.post("/programs/<slug>/edit")
@require("admin")
def program_save(slug: str) -> Response:
    program = _program(slug)
    values = {f: request.form.get(f, "") for f in program_admin.FIELDS if f != "slug"}
    tiers = _tier_rows_from_form()
    if not csrf_valid():
        return _form_page(
            program,
            values,
            tiers,
            {},
            400,
            _("The form has expired. Please check the values and send it again."),
        )
    if program.archived_at is not None:
        abort(
            409,
            description=_(
                "This program is archived: its pages are read-only. An admin can restore it."
            ),
        )
    try:
        changed = program_admin.update_program(
            db(), services().clock, program, values, tiers, current_staff() or "console"
        )
    except ValidationError as exc:
        return _form_page(
            program, values, tiers, exc.fields, 422, _("Please correct the fields below.")
        )
    if changed:
        _push_class(program.id)
    flash(
        _("Saved: cards on phones will update where it shows.")
        if changed
        else _("Nothing changed.")
    )
    return redirect(url_for("console.program_edit", slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/programs/<slug>/archive")
@require("admin")
def program_archive(slug: str) -> Response:
    return _set_archived(slug, True)


@bp.post("/programs/<slug>/restore")
@require("admin")
def program_restore(slug: str) -> Response:
    return _set_archived(slug, False)


def _set_archived(slug: str, archived: bool) -> Response:
    program = _program(slug)
    if csrf_valid() and program_admin.set_archived(
        db(), services().clock, program, archived, current_staff() or "console"
    ):
        flash(
            _("Archived: enrollment is closed and the program's pages are read-only.")
            if archived
            else _("Saved: cards on phones will update where it shows.")
        )
    return redirect(url_for("console.program_list"), code=303)  # type: ignore[return-value]
