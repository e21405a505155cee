"""Placeholders in a card's back-side texts, e.g. "{discount} off, always".

Only plain known names are replaced; ``{{`` and ``}}`` stand for braces. Nothing is
interpreted: no format spec (``{discount:>999999999}``), conversion (``{x!r}``),
attribute or index (``{x.y}``, ``{x[0]}``). ``check`` refuses such texts when they are
saved, and ``render`` leaves anything it does not know as written, so even a text
stored before the check existed cannot fail or grow: the result is at most the text
plus one value per placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

# What back-side texts may refer to (values come from passes.content).
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

# What a campaign's offer may refer to: the member's most frequent size (in the
# campaign's category), read from their receipt lines.
OFFER_PLACEHOLDERS = frozenset({"size"})

# An escaped brace, a replacement field, or a brace that belongs to neither.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Problem:
    """Why a text is refused. ``kind``: unmatched_brace, format_spec, conversion,
    attribute (attribute or index access), unknown (not a placeholder we know);
    ``written``: the offending part as the text has it, e.g. ``{discount:d}``."""

    kind: str
    written: str


def check(text: str, known: Collection[str] = PLACEHOLDERS) -> Problem | None:
    """The first reason to refuse ``text``, or None when every field is a known name."""
    for match in _TOKEN.finditer(text):
        written, name = match.group(0), match.group(1)
        if written in ("{{", "}}"):
            continue
        if name is None:
            return Problem("unmatched_brace", written)
        if ":" in name:
            return Problem("format_spec", written)
        if "!" in name:
            return Problem("conversion", written)
        if "." in name or "[" in name or "]" in name:
            return Problem("attribute", written)
        if name not in known:
            return Problem("unknown", written)
    return None


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` of ``values`` replaced; everything else as written."""

    def replace(match: re.Match[str]) -> str:
        written, name = match.group(0), match.group(1)
        if written in ("{{", "}}"):
            return written[0]
        if name is not None and name in values:
            return values[name]
        return written

    return _TOKEN.sub(replace, text)


def names(text: str) -> set[str]:
    """The placeholder names ``text`` uses (escaped braces are not placeholders)."""
    return {m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None}


def render_offer(text: str, fallback: str | None, values: Mapping[str, str | None]) -> str:
    """The offer with its placeholders filled in; when one of them has no value for this
    member (e.g. no size known), the fallback text instead, rendered with no values.
    Without a fallback an offer that needs a value it lacks is not shown half-filled:
    the fallback rule is "all or the fallback"."""
    known = {k: v for k, v in values.items() if v}
    if names(text) - set(known):
        return render(fallback or "", {})
    return render(text, known)
