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
from app.web.i18n import _, current_locale
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


ERRORS_RU = {
    "code": "1–40 строчных латинских букв, цифр, «-» или «_»; не занят другим магазином",
    "name": "Обязательное поле (до 100 символов)",
    "timezone": "Пусто или часовой пояс, например Asia/Yekaterinburg",
    "latitude": "Число от -90 до 90 (или оба поля пустые)",
    "longitude": "Число от -180 до 180 (или оба поля пустые)",
    "store": "У магазина есть кассы или чеки: сначала отключите его кассы; "
    "магазин с чеками остаётся в отчётах",
}


def store_error(key: str, english: str) -> str:
    return ERRORS_RU.get(key, english) if current_locale() == "ru" else english


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
