"""Back-side texts: only plain known placeholders are refused nothing and replaced."""

from __future__ import annotations

import pytest

from app.passes.placeholders import Problem, check, render

VALUES = {"discount": "7\u00a0%", "support_phone": "+7 800 000-00-00"}


def test_known_names_are_replaced_and_double_braces_are_braces() -> None:
    assert render("Скидка {discount} всегда.", VALUES) == "Скидка 7\u00a0% всегда."
    assert render("{{discount}} is {discount}", VALUES) == "{discount} is 7\u00a0%"
    assert render("call {support_phone}, {support_phone}", VALUES).count("+7 800") == 2
    assert render("no fields at all", VALUES) == "no fields at all"
    assert check("Скидка {discount}, {{braces}}, {support_phone}") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{discount:d}", Problem("format_spec", "{discount:d}")),
        ("{discount:>999999999}", Problem("format_spec", "{discount:>999999999}")),
        ("a {discount!r}", Problem("conversion", "{discount!r}")),
        ("{discount.__class__}", Problem("attribute", "{discount.__class__}")),
        ("{discount[0]}", Problem("attribute", "{discount[0]}")),
        ("{cashback}", Problem("unknown", "{cashback}")),
        ("{}", Problem("unknown", "{}")),
        ("{0}", Problem("unknown", "{0}")),
        ("50 % {off", Problem("unmatched_brace", "{")),
        ("off} now", Problem("unmatched_brace", "}")),
        ("{discount:{width}}", Problem("unmatched_brace", "{")),
    ],
)
def test_anything_but_a_plain_known_name_is_refused(text: str, problem: Problem) -> None:
    assert check(text) == problem


def test_a_stored_bad_text_renders_as_written_and_cannot_grow() -> None:
    """Texts saved before the check existed: nothing is interpreted, nothing raises."""
    bad = "{discount:>999999999} {discount:d} {discount!r} {discount.real} {x} {0} { }"
    rendered = render(bad, VALUES)
    assert rendered == bad  # left exactly as written
    assert len(render("{discount}" * 1000, VALUES)) == 1000 * len(VALUES["discount"])
    # A value is never read as a template itself.
    assert render("{discount}", {"discount": "{support_phone}"}) == "{support_phone}"
