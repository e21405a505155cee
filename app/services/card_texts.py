"""A program's own card labels and back-side texts (ru/en), over its template's."""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.passes.sync import mark_program_changed
from app.passes.templates import LOCALES, PassTemplate, with_texts
from app.services.staff import audit
from app.staff.models import StaffUser

# What back-side texts may refer to, e.g. "{discount}" (see passes.content).
PLACEHOLDERS = frozenset(
    {
        "discount",
        "registration_bonus",
        "birthday_bonus",
        "terms_url",
        "website_url",
        "support_phone",
    }
)
LABEL_MAX, BACK_MAX = 40, 2000


def form(template: PassTemplate, texts: dict[str, Any] | None) -> dict[str, str]:
    """Field name -> text: ``label.<key>.<lang>`` and ``back.<key>.<lang>``."""
    current = with_texts(template, texts)
    values = {f"label.{k}.{lang}": v[lang] for k, v in current.labels.items() for lang in LOCALES}
    values.update(
        {f"back.{f.key}.{lang}": f.value[lang] for f in current.back_fields for lang in LOCALES}
    )
    return values


def _problem(name: str, text: str) -> str | None:
    limit = LABEL_MAX if name.startswith("label.") else BACK_MAX
    if not text.strip():
        return "is required"
    if len(text) > limit:
        return f"is longer than {limit} characters"
    if name.startswith("back."):
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError:
            return "has an unmatched { or }"
        unknown = fields - PLACEHOLDERS
        if unknown:
            return f"knows no {{{sorted(unknown)[0]}}}: use one of " + ", ".join(
                f"{{{p}}}" for p in sorted(PLACEHOLDERS)
            )
    return None


def apply(
    session: Session,
    clock: Clock,
    program: Program,
    template: PassTemplate,
    values: dict[str, str],
    actor: StaffUser | str,
) -> bool:
    """Validate and store the texts that differ from the template; every card of the
    program is re-sent when anything changed. Returns whether something did."""
    current = form(template, program.card_texts)
    errors = {n: p for n in current if (p := _problem(n, values.get(n, current[n])))}
    if errors:
        raise ValidationError(errors)
    defaults = form(template, None)
    texts: dict[str, Any] = {"labels": {}, "back": {}}
    for name in current:
        text = values.get(name, current[name])
        if text == defaults[name]:
            continue
        kind, key, lang = name.split(".")
        if kind == "label":
            texts["labels"].setdefault(key, {})[lang] = text
        else:
            texts["back"].setdefault(key, {"value": {}})["value"][lang] = text
    new = texts if texts["labels"] or texts["back"] else None
    if new == program.card_texts:
        return False
    changed = sorted(n for n in current if values.get(n, current[n]) != current[n])
    program.card_texts = new
    session.flush()
    mark_program_changed(session, clock, program.id)
    audit(session, clock, actor, "card_texts.updated", program.slug, {"fields": changed})
    return True
