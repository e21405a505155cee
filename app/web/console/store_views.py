"""Console page of a program's stores: where its tills stand, their time zones, and
(optionally) their coordinates, which make the card show up nearby on the lock screen."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import google_class, stores
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.db import db, google_class_queue, services
from app.web.i18n import _, lazy_pgettext, service_error
from app.web.security import csrf_valid

FIELDS = (
    "code",
    "name",
    "address",
    "timezone",
    "latitude",
    "longitude",
    "relevant_text_ru",
    "relevant_text_en",
)


FIELD_ERRORS = {
    "code": lazy_pgettext(
        "field error",
        "1–40 lower-case latin letters, digits, “-” or “_”; not used by another store",
    ),
    "name": lazy_pgettext("field error", "Required (up to 100 characters)"),
    "timezone": lazy_pgettext("field error", "Empty or a time zone such as Asia/Yekaterinburg"),
    "latitude": lazy_pgettext("field error", "A number from -90 to 90 (or both fields empty)"),
    "longitude": lazy_pgettext("field error", "A number from -180 to 180 (or both fields empty)"),
    "store": lazy_pgettext(
        "field error",
        "The store has tills or receipts: revoke its tills first; "
        "a store with receipts stays in the reports",
    ),
}


def store_error(key: str, english: str) -> str:
    return service_error(english, FIELD_ERRORS.get(key))


def _after_change(program_id: int) -> None:
    # Google keeps merchant locations on the class.
    google_class.resend_after_commit(db(), google_class_queue(), program_id)


@bp.get("/programs/<slug>/stores")
@require(*DESIGN_ROLES)
def store_list(slug: str) -> Response:
    return page(
        "console/stores.html",
        program=_program(slug),
        values={},
        errors={},
        fields=FIELDS,
        store_error=store_error,
    )


@bp.post("/programs/<slug>/stores")
@require(*DESIGN_ROLES)
def store_add(slug: str) -> Response:
    program = _program(slug)
    values = {f: request.form.get(f, "") for f in FIELDS}
    if not csrf_valid():
        return page(
            "console/stores.html",
            400,
            program=program,
            values=values,
            errors={},
            notice=_("The form has expired. Please check the values and send it again."),
            fields=FIELDS,
            store_error=store_error,
        )
    try:
        stores.add_store(db(), services().clock, program, values, current_staff() or "console")
    except ValidationError as exc:
        return page(
            "console/stores.html",
            422,
            program=program,
            values=values,
            errors=exc.fields,
            notice=_("Please correct the fields below."),
            fields=FIELDS,
            store_error=store_error,
        )
    _after_change(program.id)
    flash(_("Saved: cards on phones will update."))
    return redirect(url_for("console.store_list", slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/programs/<slug>/stores/<code>/remove")
@require(*DESIGN_ROLES)
def store_remove(slug: str, code: str) -> Response:
    program = _program(slug)
    if csrf_valid():
        try:
            removed = stores.remove_store(
                db(), services().clock, program, code, current_staff() or "console"
            )
        except ValidationError as exc:
            return page(
                "console/stores.html",
                409,
                program=program,
                values={},
                errors={},
                notice=store_error("store", exc.fields["store"]),
                fields=FIELDS,
                store_error=store_error,
            )
        if removed:
            _after_change(program.id)
            flash(_("Saved: cards on phones will update."))
    return redirect(url_for("console.store_list", slug=slug), code=303)  # type: ignore[return-value]
