"""Console page of a program's card images (logo, strip, icon)."""

from __future__ import annotations

import functools

from flask import Response, flash, redirect, request, url_for

from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.services import program_images
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.forms import page
from app.web.console.texts import tx
from app.web.db import db, services
from app.web.i18n import current_locale
from app.web.security import csrf_valid

MAX_UPLOAD = 5 * 1024 * 1024
TEXTS = {
    "title": {"en": "Card images", "ru": "Картинки карты"},
    "lead": {
        "en": "PNG, JPEG or WEBP; resized for every screen. Logo: wide, transparent background. "
        "Strip: the band behind the balance (about 3:1). Icon: square.",
        "ru": "PNG, JPEG или WEBP; размеры для всех экранов сделаем сами. Логотип: широкий, "
        "на прозрачном фоне. Полоса: фон под баллами (примерно 3:1). Значок: квадратный.",
    },
    "upload": {"en": "Upload", "ru": "Загрузить"},
    "reset": {"en": "Back to the template's", "ru": "Вернуть картинку шаблона"},
    "saved": {
        "en": "Saved: cards on phones will update.",
        "ru": "Сохранено: карты на телефонах обновятся.",
    },
}


def it(key: str) -> str:
    return TEXTS[key][current_locale()]


def _page(
    slug: str, status: int = 200, errors: dict[str, str] | None = None, notice: str | None = None
) -> Response:
    program = _program(slug)
    own = {image.name for image in program.images}
    return page(
        "console/images.html",
        status,
        program=program,
        kinds=program_images.KINDS,
        own=own,
        errors=errors or {},
        notice=notice,
        it=it,
    )


def _after_change(program_id: int) -> None:
    if services().google is not None:  # the logo and hero image live on the Google class
        after_commit(db(), functools.partial(services().queue.sync_google_class, program_id))


@bp.get("/programs/<slug>/images")
@require(*DESIGN_ROLES)
def images_page(slug: str) -> Response:
    return _page(slug)


@bp.post("/programs/<slug>/images")
@require(*DESIGN_ROLES)
def images_upload(slug: str) -> Response:
    request.max_content_length = MAX_UPLOAD  # a picture, not a form field
    if not csrf_valid():
        return _page(slug, 400, notice=tx("form.expired"))
    program = _program(slug)
    upload = request.files.get("image")
    kind = request.form.get("kind", "")
    if upload is None or not upload.filename:
        return _page(slug, 422, {"image": "choose a file"}, tx("form.errors"))
    try:
        program_images.upload(
            db(), services().clock, program, kind, upload.read(), current_staff() or "console"
        )
    except ValidationError as exc:
        return _page(slug, 422, exc.fields, tx("form.errors"))
    _after_change(program.id)
    flash(it("saved"))
    return redirect(url_for("console.images_page", slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/programs/<slug>/images/<kind>/reset")
@require(*DESIGN_ROLES)
def images_reset(slug: str, kind: str) -> Response:
    program = _program(slug)
    if csrf_valid() and program_images.remove(
        db(), services().clock, program, kind, current_staff() or "console"
    ):
        _after_change(program.id)
        flash(it("saved"))
    return redirect(url_for("console.images_page", slug=slug), code=303)  # type: ignore[return-value]
