"""A program's own card labels and back-side texts (ru/en), over its template's: the
console's form, its checks, and the draft the console edits before publishing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.bounds import CONTROL_MESSAGE, has_control_characters_but_newlines
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.passes import placeholders
from app.passes.templates import LOCALES, PassTemplate, with_texts
from app.services.programs import lock_program
from app.services.staff import audit
from app.staff.models import StaffUser

PLACEHOLDERS = placeholders.PLACEHOLDERS  # what back-side texts may refer to
LABEL_MAX, BACK_MAX = 40, 2000
PLACES = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))


@dataclass(frozen=True)
class TextProblem:
    """Why a field's text is refused: ``kind`` is required, too_long, or one of
    ``placeholders.Problem``'s kinds; ``written`` the offending part (or the limit)."""

    kind: str
    written: str = ""

    def message(self) -> str:
        """In English, for logs and the API; the console shows its own translation."""
        return {
            "required": "is required",
            "control": CONTROL_MESSAGE,
            "too_long": f"is longer than {self.written} characters",
            "unmatched_brace": "has an unmatched { or }: write {{ or }} for a brace itself",
            "format_spec": f"formats a placeholder ({self.written}): write it plainly, "
            f"e.g. {{discount}}",
            "conversion": f"converts a placeholder ({self.written}): write it plainly, "
            f"e.g. {{discount}}",
            "attribute": f"reads into a placeholder ({self.written}): write it plainly, "
            f"e.g. {{discount}}",
            "unknown": f"knows no {self.written}: use one of {PLACES}",
        }[self.kind]


class CardTextsError(ValidationError):
    """Texts refused at save; ``problems`` maps each wrong field to why."""

    def __init__(self, problems: dict[str, TextProblem]) -> None:
        self.problems = problems
        super().__init__({name: p.message() for name, p in problems.items()})


def form(template: PassTemplate, texts: dict[str, Any] | None) -> dict[str, str]:
    """Field name -> text: ``label.<key>.<lang>`` and ``back.<key>.<lang>``."""
    current = with_texts(template, texts)
    values = {f"label.{k}.{lang}": v[lang] for k, v in current.labels.items() for lang in LOCALES}
    values.update(
        {f"back.{f.key}.{lang}": f.value[lang] for f in current.back_fields for lang in LOCALES}
    )
    return values


def _problem(name: str, text: str) -> TextProblem | None:
    limit = LABEL_MAX if name.startswith("label.") else BACK_MAX
    if not text.strip():
        return TextProblem("required")
    if has_control_characters_but_newlines(text):
        return TextProblem("control")
    if len(text) > limit:
        return TextProblem("too_long", str(limit))
    if name.startswith("back."):
        found = placeholders.check(text)
        if found is not None:
            return TextProblem(found.kind, found.written)
    return None


def texts_of(template: PassTemplate, values: dict[str, str]) -> dict[str, Any] | None:
    """The stored shape of a complete form: only what differs from the template;
    None when nothing does. Raises ``CardTextsError`` naming every wrong field."""
    errors = {n: p for n, text in values.items() if (p := _problem(n, text))}
    if errors:
        raise CardTextsError(errors)
    defaults = form(template, None)
    texts: dict[str, Any] = {"labels": {}, "back": {}}
    for name, default in defaults.items():
        text = values[name]
        if text == default:
            continue
        kind, key, lang = name.split(".")
        if kind == "label":
            texts["labels"].setdefault(key, {})[lang] = text
        else:
            texts["back"].setdefault(key, {"value": {}})["value"][lang] = text
    return texts if texts["labels"] or texts["back"] else None


def draft_of(program: Program) -> dict[str, Any] | None:
    """The texts the program's next publication would give its cards."""
    if program.card_texts_draft is None:
        return program.card_texts
    return program.card_texts_draft or None  # {} = back to the template's texts


def changed_fields(template: PassTemplate, program: Program) -> list[str]:
    """Form fields (in the form's order) whose draft text differs from the published one."""
    published = form(template, program.card_texts)
    draft = form(template, draft_of(program))
    return [name for name in published if draft[name] != published[name]]


def save_draft(
    session: Session,
    clock: Clock,
    program: Program,
    template: PassTemplate,
    values: dict[str, str],
    actor: StaffUser | str,
) -> list[str]:
    """Keep the texts as the program's draft: phones see nothing until it is published
    (app.services.card_drafts). Fields not sent keep their draft text. Returns the
    fields that now differ from the published texts."""
    program = lock_program(session, program)
    current = form(template, draft_of(program))
    texts = texts_of(template, {name: values.get(name, text) for name, text in current.items()})
    if texts == program.card_texts:
        program.card_texts_draft = None  # the draft went back to what phones show
    else:
        program.card_texts_draft = texts or {}
    session.flush()
    changed = changed_fields(template, program)
    edited = sorted(n for n in current if values.get(n, current[n]) != current[n])
    if edited:
        audit(session, clock, actor, "card_texts.drafted", program.slug, {"fields": edited})
    return changed
