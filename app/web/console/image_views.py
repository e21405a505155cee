"""Console page of a program's card images (logo, strip, icon). Uploads and resets go
into the draft with a preview; the draft buttons publish it."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import program_images
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.draft_views import draft_context
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

MAX_UPLOAD = 5 * 1024 * 1024


def _page(
    slug: str, status: int = 200, errors: dict[str, str] | None = None, notice: str | None = None
) -> Response:
    program = _program(slug)
    return page(
        "console/images.html",
        status,
        program=program,
        kinds=program_images.KINDS,
        own={
            name.split("@")[0].removesuffix(".png") for name in program_images.draft_images(program)
        },
        errors=errors or {},
        notice=notice,
        back="images",
        **draft_context(program),
    )


def _drafted(slug: str) -> Response:
    flash(_("Kept in the draft. Check the preview, then publish it to the cards."))
    return redirect(  # type: ignore[return-value]
        url_for("console.images_page", slug=slug, _anchor="draft"), code=303
    )


@bp.get("/programs/<slug>/images")
@require(*DESIGN_ROLES)
def images_page(slug: str) -> Response:
    return _page(slug)


@bp.post("/programs/<slug>/images")
@require(*DESIGN_ROLES)
def images_upload(slug: str) -> Response:
    """Keep the picture in the draft; publishing is a separate step."""
    request.max_content_length = MAX_UPLOAD  # a picture, not a form field
    if not csrf_valid():
        return _page(
            slug, 400, notice=_("The form has expired. Please check the values and send it again.")
        )
    program = _program(slug)
    upload = request.files.get("image")
    kind = request.form.get("kind", "")
    if upload is None or not upload.filename:
        return _page(
            slug, 422, {"image": _("Choose a picture file.")}, _("Please correct the fields below.")
        )
    try:
        program_images.stage(
            db(), services().clock, program, kind, upload.read(), current_staff() or "console"
        )
    except ValidationError as exc:
        return _page(slug, 422, exc.fields, _("Please correct the fields below."))
    return _drafted(slug)


@bp.post("/programs/<slug>/images/<kind>/reset")
@require(*DESIGN_ROLES)
def images_reset(slug: str, kind: str) -> Response:
    program = _program(slug)
    if not csrf_valid():
        return _page(
            slug, 400, notice=_("The form has expired. Please check the values and send it again.")
        )
    if kind not in program_images.KINDS:
        abort(404)
    actor = current_staff() or "console"
    if not program_images.stage_reset(db(), services().clock, program, kind, actor):
        flash(_("Nothing changed."))
        return redirect(url_for("console.images_page", slug=slug), code=303)  # type: ignore[return-value]
    return _drafted(slug)
