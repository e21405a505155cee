"""The draft of a program's card texts and images in the console: preview images drawn
from it, its pictures, and the buttons that publish it to every phone or discard it.
The texts and images pages both show it (console/_draft.html)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from flask import Response, abort, flash, redirect, request, url_for

from app.passes.templates import PassTemplate
from app.services import card_drafts, design, program_images
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, LOCALES, _program
from app.web.console.texts import text_for
from app.web.db import db, google_class_queue, services
from app.web.i18n import _, current_locale
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program

PAGES = {"texts": "console.texts_page", "images": "console.images_page"}


def field_title(template: PassTemplate, name: str) -> str:
    """A marketer's name for a texts form field, e.g. "Label «Points» · English"."""
    kind, key, lang = name.split(".")
    locale = current_locale()
    if kind == "label":
        what = template.labels.get(key, {}).get(locale) or key
    else:
        field = next((f for f in template.back_fields if f.key == key), None)
        what = (field.label.get(locale) if field else None) or key
    return f"{text_for('draft.' + kind)} «{what}» · {text_for('draft.lang.' + lang)}"


def draft_context(program: Program) -> dict[str, object]:
    """What console/_draft.html needs."""
    templates = services().templates
    template = templates.get(program.template)
    pending = card_drafts.pending(program, templates)
    return {
        "pending": pending,
        "pending_texts": [field_title(template, name) for name in pending.texts],
        "field_title": functools.partial(field_title, template),
        "draft_previews": {
            wallet: url_for(
                "console.draft_preview", slug=program.slug, wallet=wallet, hl=current_locale()
            )
            for wallet in design.WALLETS
        },
        "draft_fingerprint": card_drafts.fingerprint(program),
    }


@bp.get("/programs/<slug>/draft/preview/<wallet>.png")
@require(*DESIGN_ROLES)
def draft_preview(slug: str, wallet: str) -> Response:
    if wallet not in design.WALLETS:
        abort(404)
    program = _program(slug)
    locale = request.args.get("hl", "")
    locale = locale if locale in LOCALES else current_locale()
    template = card_drafts.draft_template(program, services().templates)
    png = design.preview_png(db(), program, {}, locale, template, wallet)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"  # the draft changes under the same URL
    return response


@bp.get("/programs/<slug>/draft/images/<name>")
@require(*DESIGN_ROLES)
def draft_image(slug: str, name: str) -> Response:
    """One picture as the draft has it (the program's, else the template's)."""
    program = _program(slug)
    image = program_images.draft_images(program).get(name)
    if image is None:
        image = services().templates.get(program.template).images.get(name)
    if image is None:
        abort(404)
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(slug: str) -> Response:
    page = PAGES.get(request.form.get("back", ""), "console.texts_page")
    return redirect(url_for(page, slug=slug), code=303)  # type: ignore[return-value]


@bp.post("/programs/<slug>/draft/publish")
@require(*DESIGN_ROLES)
def draft_publish(slug: str) -> Response:
    program = _program(slug)
    if not csrf_valid():
        flash(_("The form has expired. Please check the values and send it again."))
        return _back(slug)
    session = db()
    actor = current_staff() or "console"
    try:
        published = card_drafts.publish(
            session,
            services().clock,
            program,
            services().templates,
            actor,
            _seen(),
            google_class_queue(),
        )
    except card_drafts.DraftChangedError:
        flash(
            _(
                "The draft was changed after this page was opened (by you in "
                "another tab or by a colleague). Nothing was published or "
                "discarded: check the preview and try again."
            )
        )
        return _back(slug)
    flash(
        _("Published: cards on phones will update.")
        if published
        else _("There was nothing to publish.")
    )
    return _back(slug)


@bp.post("/programs/<slug>/draft/discard")
@require(*DESIGN_ROLES)
def draft_discard(slug: str) -> Response:
    program = _program(slug)
    if not csrf_valid():
        flash(_("The form has expired. Please check the values and send it again."))
        return _back(slug)
    try:
        if card_drafts.discard(
            db(), services().clock, program, current_staff() or "console", _seen()
        ):
            flash(_("Changes discarded."))
    except card_drafts.DraftChangedError:
        flash(
            _(
                "The draft was changed after this page was opened (by you in "
                "another tab or by a colleague). Nothing was published or "
                "discarded: check the preview and try again."
            )
        )
    return _back(slug)


def _seen() -> str:
    # The draft's fingerprint when the page was rendered; a form without one never matches.
    return request.form.get("draft", "")
