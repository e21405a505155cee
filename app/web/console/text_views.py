"""Console page of a program's card texts: field labels and back-side texts, ru and en."""

from __future__ import annotations

import functools

from flask import Response, flash, redirect, request, url_for

from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.passes.templates import PassTemplate
from app.services import card_texts
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.console.texts import tx
from app.web.db import db, services
from app.web.i18n import current_locale
from app.web.security import csrf_valid

PLACES = ", ".join(f"{{{p}}}" for p in sorted(card_texts.PLACEHOLDERS)) + "."
TEXTS = {
    "title": {"en": "Card texts", "ru": "Тексты карты"},
    "lead": {
        "en": "Labels on the front and texts on the back of the card. Back texts may use " + PLACES,
        "ru": "Подписи на лицевой стороне и тексты на обороте карты. В текстах оборота "
        "можно использовать " + PLACES,
    },
    "save": {"en": "Save", "ru": "Сохранить"},
    "saved": {
        "en": "Saved: cards on phones will update.",
        "ru": "Сохранено: карты на телефонах обновятся.",
    },
    "unchanged": {"en": "Nothing changed.", "ru": "Ничего не изменилось."},
}


def ct(key: str) -> str:
    return TEXTS[key][current_locale()]


def _template(slug: str) -> tuple[Program, PassTemplate]:
    program = _program(slug)
    return program, services().templates.get(program.template)


@bp.get("/programs/<slug>/texts")
@require(*DESIGN_ROLES)
def texts_page(slug: str) -> Response:
    program, template = _template(slug)
    values = card_texts.form(template, program.card_texts)
    return page("console/texts.html", program=program, values=values, errors={}, ct=ct)


@bp.post("/programs/<slug>/texts")
@require(*DESIGN_ROLES)
def texts_save(slug: str) -> Response:
    program, template = _template(slug)
    values = {**card_texts.form(template, program.card_texts), **request.form.to_dict()}
    values.pop("csrf_token", None)
    if not csrf_valid():
        return page(
            "console/texts.html",
            400,
            program=program,
            values=values,
            errors={},
            notice=tx("form.expired"),
            ct=ct,
        )
    try:
        changed = card_texts.apply(
            db(), services().clock, program, template, values, current_staff() or "console"
        )
    except ValidationError as exc:
        return page(
            "console/texts.html",
            422,
            program=program,
            values=values,
            errors=exc.fields,
            notice=tx("form.errors"),
            ct=ct,
        )
    if changed and services().google is not None:  # the class carries the account labels
        after_commit(db(), functools.partial(services().queue.sync_google_class, program.id))
    flash(ct("saved") if changed else ct("unchanged"))
    return redirect(url_for("console.texts_page", slug=slug), code=303)  # type: ignore[return-value]
