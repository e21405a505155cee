"""The catalogs cover the source: every text pybabel extracts has a Russian translation
(all three CLDR plural forms where it is counted) and an English entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "app" / "translations"
# The keywords of README's extraction command.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "N_": None,
    "lazy_pgettext": ((1, "c"), 2),
}


def _extracted() -> set[tuple[str | None, str]]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.add((context, msgid))
    return found


def _catalog(locale: str) -> dict[tuple[str | None, str], Message]:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted() -> set[tuple[str | None, str]]:
    found = _extracted()
    assert len(found) > 50  # the extraction did read the source
    return found


def test_every_text_in_the_source_has_a_russian_translation(
    extracted: set[tuple[str | None, str]],
) -> None:
    russian = _catalog("ru")
    missing = sorted(str(key) for key in extracted if key not in russian)
    untranslated = sorted(
        str(key)
        for key in extracted & russian.keys()
        if russian[key].fuzzy
        or not (
            russian[key].string
            if isinstance(russian[key].string, str)
            else all(russian[key].string)
        )
    )
    assert missing == [], "run pybabel extract + update (README, Translations)"
    assert untranslated == []


def test_every_counted_russian_text_has_three_plural_forms() -> None:
    russian = _catalog("ru")
    plural = [m for m in russian.values() if m.pluralizable]
    for message in plural:
        assert len(message.string) == 3, message.id
        assert all(message.string), message.id


def test_english_catalog_lists_every_text(extracted: set[tuple[str | None, str]]) -> None:
    english = _catalog("en")
    assert sorted(str(key) for key in extracted if key not in english) == []


def test_brace_placeholders_survive_translation() -> None:
    for message in _catalog("ru").values():
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = {p for text in ids for p in _placeholders(text)}
        for text in strings:
            assert _placeholders(text) <= wanted, (message.id, text)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{(\w+)\}", text))
