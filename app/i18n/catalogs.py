"""One gettext catalog per language, read from its .po file on first use."""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("ru", "en")
DEFAULT_LOCALE = "ru"
CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale``; an unknown locale answers the English msgids."""
    path = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale not in LOCALES or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled)


def _filled(text: str, values: dict[str, object]) -> str:
    return text.format(**values) if values else text


def gettext(locale: str, message: str, **values: object) -> str:
    return _filled(translations(locale).gettext(message), values)


def pgettext(locale: str, context: str, message: str, **values: object) -> str:
    return _filled(str(translations(locale).pgettext(context, message)), values)


def ngettext(locale: str, singular: str, plural: str, n: int, **values: object) -> str:
    """The form for ``n`` by the locale's CLDR plural rule; ``{num}`` is ``n``."""
    text = translations(locale).ngettext(singular, plural, n)
    return text.format(**{"num": n, **values})


def npgettext(
    locale: str, context: str, singular: str, plural: str, n: int, **values: object
) -> str:
    text = str(translations(locale).npgettext(context, singular, plural, n))
    return text.format(**{"num": n, **values})


class Translator:
    """The catalog functions bound to one locale, for code that is handed a locale
    (a poster, a message) rather than serving a request."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def gettext(self, message: str, **values: object) -> str:
        return gettext(self.locale, message, **values)

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        return ngettext(self.locale, singular, plural, n, **values)
