"""The card design page: colours, offer and contacts of a program's card, with preview
images of the Apple and Google card drawn on the server from the values in the form
(not saved yet). design.js reloads the images as fields change; without it, the
"Preview" button reloads the page with the values."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Response, abort, flash, redirect, request, url_for

from app.services import card_drafts, cards, design, staff_scope
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.console.texts import text_for
from app.web.db import db, google_class_queue, services
from app.web.i18n import _, current_locale, ngettext, number
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program

DESIGN_ROLES = ("admin", "marketer")
LOCALES = ("ru", "en")


def _program(slug: str) -> Program:
    """The program in the URL, if it is one of the signed-in user's; 404 otherwise."""
    user = current_staff()
    program = staff_scope.program_for(db(), user, slug) if user is not None and slug else None
    if program is None:
        abort(404)
    read_only_when_archived(program)
    return program


def read_only_when_archived(program: Program) -> None:
    """An archived program's pages show, but change nothing (409 on a POST)."""
    if request.method == "POST" and program.archived_at is not None:
        abort(
            409,
            description=_(
                "This program is archived: its pages are read-only. An admin can restore it."
            ),
        )


def _values(source: dict[str, str], program: Program) -> dict[str, str]:
    """The form's fields: those sent, the saved ones for the rest."""
    saved = design.design_form(program)
    return {name: source.get(name, saved[name]) for name in design.FIELDS}


def _preview_url(program: Program, wallet: str, values: dict[str, str]) -> str:
    base = url_for("console.design_preview", slug=program.slug, wallet=wallet)
    # The published texts and images are part of the picture: name them so a cached
    # preview is not shown after a publication.
    published = cards.template_of(program, services().templates).images_key
    texts = json.dumps(program.card_texts, sort_keys=True) + published
    version = hashlib.sha256(texts.encode()).hexdigest()[:12]
    return f"{base}?{urlencode({**values, 'hl': current_locale(), 'v': version})}"


def _page(
    program: Program,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    notice: str | None = None,
) -> Response:
    return page(
        "console/design.html",
        status,
        program=program,
        values=values,
        errors=errors,
        notice=notice,
        previews={w: _preview_url(program, w, values) for w in design.WALLETS},
        swatches={name: _swatch(values[name], program, name) for name in design.COLORS},
        # Texts and images waiting in a draft are not in these previews: say so.
        draft_pending=bool(card_drafts.pending(program, services().templates)),
    )


@bp.get("/programs/<slug>/design")
@require(*DESIGN_ROLES)
def design_page(slug: str) -> Response:
    program = _program(slug)
    if "csrf_token" in request.args:  # the "Preview" button sends the whole form
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "csrf_token"]
        target = f"{url_for('console.design_page', slug=slug)}?{urlencode(args)}"
        return redirect(target, code=303)  # type: ignore[return-value]
    values = _values(request.args.to_dict(), program)
    errors = {}
    if any(name in request.args for name in design.FIELDS):
        errors = _messages(design.clean_design(values)[1])
    return _page(program, values, errors)


@bp.get("/programs/<slug>/preview/<wallet>.png")
@require(*DESIGN_ROLES)
def design_preview(slug: str, wallet: str) -> Response:
    if wallet not in design.WALLETS:
        abort(404)
    session = db()
    program = _program(slug)
    locale = request.args.get("hl", "")
    locale = locale if locale in LOCALES else current_locale()
    template = cards.template_of(program, services().templates)
    values = _values(request.args.to_dict(), program)
    png = design.preview_png(session, program, values, locale, template, wallet)
    response = Response(png, mimetype="image/png")
    # The URL holds every value the image depends on.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.post("/programs/<slug>/design")
@require(*DESIGN_ROLES)
def design_save(slug: str) -> Response:
    session = db()
    program = _program(slug)
    values = _values(request.form.to_dict(), program)
    if not csrf_valid():
        return _page(
            program,
            values,
            {},
            400,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    user = current_staff()
    assert user is not None  # require() let us in
    try:
        changed = design.apply_design(
            session, services().clock, program, values, user, google_class_queue()
        )
    except design.DesignError as error:
        return _page(
            program,
            values,
            _messages(error.problems),
            422,
            notice=_("Please correct the fields below."),
        )
    flash(
        _("Saved: cards on phones will update in a few minutes.")
        if changed
        else _("Nothing changed.")
    )
    return redirect(  # type: ignore[return-value]
        url_for("console.design_page", slug=program.slug), code=303
    )


def _swatch(value: str, program: Program, name: str) -> str:
    """What a colour picker can show: the value, or the saved colour when it is not one."""
    color = value if design.is_color(value) else str(getattr(program, name))
    return color.lower()


def _messages(problems: dict[str, design.Problem]) -> dict[str, str]:
    return {name: _message(p) for name, p in problems.items()}


def _message(problem: design.Problem) -> str:
    if problem.code == "too_long":
        limit = int(problem.params["limit"])
        return ngettext("At most {num} character.", "At most {num} characters.", limit)
    params = dict(problem.params)
    if "ratio" in params:  # "1.0" from the domain; Russian writes "1,0"
        params["ratio"] = number(float(params["ratio"]), digits=1)
    return text_for(f"design.error.{problem.code}", **params)
