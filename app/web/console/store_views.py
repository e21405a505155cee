"""Console page of a program's stores (the places its card shows up near)."""

from __future__ import annotations

import functools

from flask import Response, flash, redirect, request, url_for

from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.services import stores
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.console.texts import tx
from app.web.db import db, services
from app.web.i18n import current_locale
from app.web.security import csrf_valid

FIELDS = (
    "code",
    "name",
    "address",
    "latitude",
    "longitude",
    "relevant_text_ru",
    "relevant_text_en",
)
TEXTS = {
    "title": {"en": "Stores", "ru": "Магазины"},
    "lead": {
        "en": "Cards show up on the lock screen near these stores (at most ten on a card).",
        "ru": "Карта появляется на экране блокировки рядом с этими магазинами (не больше десяти).",
    },
    "add": {"en": "Add a store", "ru": "Добавить магазин"},
    "remove": {"en": "Remove", "ru": "Удалить"},
    "saved": {
        "en": "Saved: cards on phones will update.",
        "ru": "Сохранено: карты на телефонах обновятся.",
    },
}


def st(key: str) -> str:
    return TEXTS[key][current_locale()]


def _after_change(program_id: int) -> None:
    if services().google is not None:  # Google keeps merchant locations on the class
        after_commit(db(), functools.partial(services().queue.sync_google_class, program_id))


@bp.get("/programs/<slug>/stores")
@require(*DESIGN_ROLES)
def store_list(slug: str) -> Response:
    return page(
        "console/stores.html", program=_program(slug), values={}, errors={}, st=st, fields=FIELDS
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
            notice=tx("form.expired"),
            st=st,
            fields=FIELDS,
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
            notice=tx("form.errors"),
            st=st,
            fields=FIELDS,
        )
    _after_change(program.id)
    flash(st("saved"))
    return redirect(url_for("console.store_list", slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/programs/<slug>/stores/<code>/remove")
@require(*DESIGN_ROLES)
def store_remove(slug: str, code: str) -> Response:
    program = _program(slug)
    if csrf_valid() and stores.remove_store(
        db(), services().clock, program, code, current_staff() or "console"
    ):
        _after_change(program.id)
        flash(st("saved"))
    return redirect(url_for("console.store_list", slug=slug), code=303)  # type: ignore[return-value]
