"""Russian plurals by the CLDR rule and numbers as each locale writes them."""

from __future__ import annotations

from datetime import date

import pytest

from app import i18n

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "1 бонусный балл"),
        (2, "2 бонусных балла"),
        (5, "5 бонусных баллов"),
        (11, "11 бонусных баллов"),
        (12, "12 бонусных баллов"),
        (21, "21 бонусный балл"),
        (22, "22 бонусных балла"),
        (111, "111 бонусных баллов"),
    ],
)
def test_points_take_the_russian_plural_form_of_their_count(n: int, words: str) -> None:
    # The campaign pages' bonus, as the Russian catalog has it.
    assert i18n.ngettext("ru", "{num} bonus point", "{num} bonus points", n) == words


def test_english_plural_has_two_forms() -> None:
    assert i18n.ngettext("en", "{num} bonus point", "{num} bonus points", 1) == "1 bonus point"
    assert i18n.ngettext("en", "{num} bonus point", "{num} bonus points", 21) == "21 bonus points"


def test_a_counted_text_may_show_the_count_formatted() -> None:
    shown = i18n.ngettext(
        "ru", "{num} bonus point", "{num} bonus points", 2001, num=i18n.format_number(2001, "ru")
    )
    assert shown == f"2{NBSP}001 бонусный балл"


def test_numbers_group_thousands_the_locales_way() -> None:
    assert i18n.format_number(2000, "ru") == f"2{NBSP}000"
    assert i18n.format_number(1234567, "ru") == f"1{NBSP}234{NBSP}567"
    assert i18n.format_number(2000, "en") == "2,000"
    assert i18n.format_number(2000.5, "ru", 2) == f"2{NBSP}000,50"
    assert i18n.format_number(-1500, "ru") == f"-1{NBSP}500"


def test_money_is_minor_units_with_the_currency_sign() -> None:
    assert i18n.format_money(200000, "ru") == f"2{NBSP}000,00{NBSP}₽"
    assert i18n.format_money(200050, "ru") == f"2{NBSP}000,50{NBSP}₽"
    assert i18n.format_money(200050, "en", "USD") == f"2,000.50{NBSP}$"
    assert i18n.format_money(200060, "ru", digits=0) == f"2{NBSP}001{NBSP}₽"


def test_percent_and_date() -> None:
    assert i18n.format_percent(0.125, "ru") == f"12,5{NBSP}%"
    assert i18n.format_percent(0.125, "en", 0) == f"12{NBSP}%"
    assert i18n.format_date(date(2026, 3, 2), "ru", "long") == "2 марта 2026\u202fг."
    assert i18n.format_date(date(2026, 3, 2), "en", "long") == "March 2, 2026"
