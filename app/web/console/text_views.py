"""Console page of a program's card texts: field labels and back-side texts, ru and en.
Saving keeps them as a draft with a preview; the draft buttons publish it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, flash, redirect, request, url_for

from app.passes.templates import PassTemplate
from app.services import card_texts
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import DESIGN_ROLES, _program
from app.web.console.draft_views import draft_context
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import N_, _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program

PLACES = card_texts.PLACES + "."
# Why a text is refused: {written} is the part of the text at fault, {places} the list
# of placeholders (both put in by hand: the texts also show braces of their own).
ERRORS = {
    "required": N_("Required."),
    "control": N_("Remove the control characters (invisible codes such as NUL or ESC)."),
    "too_long": N_("At most {written} characters."),
    "unmatched_brace": N_("A { or } without its pair. For a brace itself write {{ or }}."),
    "format_spec": N_(
        "{written} has a format after the colon. Write the placeholder plainly, "
        "e.g. {discount}: the card formats the value itself."
    ),
    "conversion": N_(
        "{written} has a conversion after the exclamation mark. Write the placeholder plainly, "
        "e.g. {discount}: the card formats the value itself."
    ),
    "attribute": N_(
        "{written} reads a part of a value. Write the placeholder plainly, "
        "e.g. {discount}: the card formats the value itself."
    ),
    "unknown": N_("The card knows no {written}. Use one of {places}"),
}


def problem_message(problem: card_texts.TextProblem) -> str:
    """Why a text was refused, in the visitor's language."""
    text = str(ERRORS[problem.kind]).replace("{places}", PLACES)
    return text.replace("{written}", problem.written)


def _template(slug: str) -> tuple[Program, PassTemplate]:
    program = _program(slug)
    return program, services().templates.get(program.template)


def _page(
    program: Program,
    values: dict[str, str],
    status: int = 200,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    return page(
        "console/texts.html",
        status,
        program=program,
        values=values,
        errors=errors or {},
        notice=notice,
        places=PLACES,
        back="texts",
        **draft_context(program),
    )


@bp.get("/programs/<slug>/texts")
@require(*DESIGN_ROLES)
def texts_page(slug: str) -> Response:
    program, template = _template(slug)
    return _page(program, card_texts.form(template, card_texts.draft_of(program)))


@bp.post("/programs/<slug>/texts")
@require(*DESIGN_ROLES)
def texts_save(slug: str) -> Response:
    """Keep the texts as a draft and show its preview; publishing is a separate step."""
    program, template = _template(slug)
    saved = card_texts.form(template, card_texts.draft_of(program))
    values = {name: request.form.get(name, text) for name, text in saved.items()}
    if not csrf_valid():
        return _page(
            program,
            values,
            400,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    try:
        card_texts.save_draft(
            db(), services().clock, program, template, values, current_staff() or "console"
        )
    except card_texts.CardTextsError as exc:
        errors = {name: problem_message(p) for name, p in exc.problems.items()}
        return _page(program, values, 422, errors, _("Please correct the fields below."))
    flash(_("Draft saved. Check the preview, then publish it to the cards."))
    return redirect(  # type: ignore[return-value]
        url_for("console.texts_page", slug=slug, _anchor="draft"), code=303
    )
