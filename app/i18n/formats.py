"""Numbers, money, percents and dates as the locale writes them (CLDR, via Babel)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal

NBSP = "\u00a0"
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}


def format_number(value: float | Decimal, locale: str, digits: int = 0, trim: bool = False) -> str:
    """``value`` with ``digits`` decimals (at most, with ``trim``) and the locale's
    separators: ru ``2 000,50`` (NBSP between groups), en ``2,000.50``."""
    pattern = "#,##0" + ("." + ("#" if trim else "0") * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale)


def format_money(minor: int | float, locale: str, currency: str = "RUB", digits: int = 2) -> str:
    """Minor units (kopecks) as ``2 000,50 ₽``: the amount, a NBSP, the sign."""
    amount = Decimal(str(minor)) / 100
    return format_number(amount, locale, digits) + NBSP + CURRENCY_SIGNS.get(currency, currency)


def format_percent(ratio: float | Decimal, locale: str, digits: int = 1, trim: bool = False) -> str:
    """A ratio (0.125) as ``12,5 %`` in ru and ``12.5 %`` in en (the pages' look)."""
    return format_number(Decimal(str(ratio)) * 100, locale, digits, trim) + NBSP + "%"


def format_date(day: date | datetime, locale: str, form: str = "medium") -> str:
    return _babel_date(day, format=form, locale=locale)
