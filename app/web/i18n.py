"""The language of each request, and the catalog's gettext functions bound to it.

Texts are English msgids translated through app.i18n's catalogs. In Python:
``_("Join {program}", program=name)``; for module-level constants ``N_("...")``
(a lazy text, translated when shown). In templates: ``{{ _("...", name=value) }}``,
``ngettext``/``pgettext``/``npgettext`` likewise, and the filters ``number``, ``money``,
``percent`` and ``date``. Placeholders are ``{name}``, filled in after translation.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, g, request, session

from app import i18n
from app.i18n import LOCALES

__all__ = ["LOCALES", "N_", "LazyText", "_", "lazy_gettext", "ngettext", "npgettext", "pgettext"]


def current_locale() -> str:
    locale: str = g.get("locale", i18n.DEFAULT_LOCALE)
    return locale


def other_locale() -> str:
    return "en" if current_locale() == "ru" else "ru"


# The language switch names the other language in that language.
AUTONYMS = {"ru": "По-русски", "en": "In English"}


def other_language_name() -> str:
    return AUTONYMS[other_locale()]


def _(message: str, **values: object) -> str:
    return i18n.gettext(current_locale(), message, **values)


def pgettext(context: str, message: str, **values: object) -> str:
    return i18n.pgettext(current_locale(), context, message, **values)


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    return i18n.ngettext(current_locale(), singular, plural, n, **values)


def npgettext(context: str, singular: str, plural: str, n: int, **values: object) -> str:
    return i18n.npgettext(current_locale(), context, singular, plural, n, **values)


class LazyText:
    """A msgid marked at import time and translated into the request's language
    whenever it is shown (``str()``, a template, ``.format``)."""

    __slots__ = ("context", "message")

    def __init__(self, message: str, context: str | None = None) -> None:
        self.message = message
        self.context = context

    def __str__(self) -> str:
        if self.context is None:
            return _(self.message)
        return pgettext(self.context, self.message)

    def format(self, **values: object) -> str:
        return str(self).format(**values)

    def __repr__(self) -> str:
        return f"N_({self.message!r})"


SOURCE_LOCALE = "en"  # the language of the msgids and of the services' messages


def service_error(english: str, wording: LazyText | None) -> str:
    """A service's English message about a field, in the page's language: in English
    the service's own words (they may carry figures); in another language the
    catalog's wording for that field, where the page has one."""
    if wording is None or current_locale() == SOURCE_LOCALE:
        return english
    return str(wording)


def N_(message: str) -> LazyText:
    return LazyText(message)


def lazy_pgettext(context: str, message: str) -> LazyText:
    return LazyText(message, context)


lazy_gettext = N_


def number(value: float | Decimal | None, digits: int = 0) -> str:
    return "—" if value is None else i18n.format_number(value, current_locale(), digits)


def money(minor: float | None, currency: str = "RUB") -> str:
    """Minor units (kopecks) as ``1 234,50 ₽`` (ru) or ``1,234.50 ₽`` (en)."""
    return "—" if minor is None else i18n.format_money(minor, current_locale(), currency)


def money_short(minor: float, currency: str = "RUB") -> str:
    """An axis label: whole units, no kopecks."""
    return i18n.format_money(minor, current_locale(), currency, digits=0)


def percent(ratio: float | None, digits: int = 1, trim: bool = False) -> str:
    """``12,5 %``; with ``trim``, no trailing zeros (``7 %``, ``7,5 %``)."""
    if ratio is None:
        return "—"
    return i18n.format_percent(ratio, current_locale(), digits, trim)


def discount(basis_points: int) -> str:
    """A discount in basis points (750) as ``7,5 %``."""
    return percent(basis_points / 10000, 2, trim=True)


def format_date(day: date | datetime | None, form: str = "medium") -> str:
    return "—" if day is None else i18n.format_date(day, current_locale(), form)


def init_app(app: Flask) -> None:
    @app.before_request
    def _choose_locale() -> None:
        if request.path.startswith(("/passkit/", "/api/")):
            return  # machine endpoints answer in JSON and keep no session cookie
        asked = request.args.get("lang")
        if asked in LOCALES:
            session["lang"] = asked
        chosen = session.get("lang")
        if chosen not in LOCALES:
            chosen = request.accept_languages.best_match(LOCALES) or i18n.DEFAULT_LOCALE
        g.locale = chosen

    # Our callables fill ``{name}`` placeholders themselves, so the extension is
    # installed old-style: its new style would %-format and miss brace placeholders.
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _, ngettext, newstyle=False, pgettext=pgettext, npgettext=npgettext
    )
    app.jinja_env.globals.update(
        _=_,
        other_locale=other_locale,
        other_language_name=other_language_name,
        current_locale=current_locale,
    )
    app.jinja_env.filters.update(number=number, money=money, percent=percent, date=format_date)
