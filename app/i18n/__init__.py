"""Message catalogs and locale formatting, with Babel; no web framework here.

Texts are English msgids translated through one gettext catalog per language,
``app/translations/<locale>/LC_MESSAGES/messages.po``, read into memory on first use.
Placeholders are ``{name}`` (python-brace-format) and are filled in by the caller.
"""

from app.i18n.catalogs import (
    DEFAULT_LOCALE,
    LOCALES,
    Translator,
    gettext,
    ngettext,
    npgettext,
    pgettext,
    translations,
)
from app.i18n.formats import format_date, format_money, format_number, format_percent

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Translator",
    "format_date",
    "format_money",
    "format_number",
    "format_percent",
    "gettext",
    "ngettext",
    "npgettext",
    "pgettext",
    "translations",
]
