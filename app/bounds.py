"""Domain bounds shared by every entry point (issue 17, finding 5).

Each number or date a person or a system sends is checked against these in the domain
(services, segments, the till), not only in one form: the worker, the CLI and both APIs
reach the same code. The choices:

- days (offer validity, segment windows, reports): 1..3 650, ten years;
- money and points: 0..10^11 minor units (a billion in major units), held by BIGINT
  columns on PostgreSQL (migration 0009);
- dates: 1900-01-01..2100-12-31, far from the ends of ``datetime`` so that adding a
  time zone or a period never overflows;
- database ids: 1..2^31-1 (an INTEGER primary key on PostgreSQL).

Text hygiene (finding 8) lives here too: the one check for control characters every
staff- or public-entered text goes through, and CSV cells that a spreadsheet would run.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

MAX_DAYS = 3650
MAX_MONEY = 10**11
MAX_ID = 2**31 - 1
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)
DATE_RANGE = f"{MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}"

_WHOLE = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """``raw`` as a whole number of ASCII digits, else None: ``str.isdigit`` and ``int``
    also take ``²`` or Arabic-Indic digits, which the rest of the code does not expect."""
    if raw is None:
        return None
    text = raw.strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def date_in_range(value: date | datetime) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return MIN_DATE <= day <= MAX_DATE


def is_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control character (NUL, ESC, DEL, C1 controls, ...)
    or a bidi/format control other than the ordinary joiners; line breaks and tabs count
    too (multi-line fields use ``has_control_characters_but_newlines``)."""
    return any(_is_control(ch) for ch in text)


def has_control_characters_but_newlines(text: str) -> bool:
    return any(_is_control(ch) for ch in text if ch not in "\n\r\t")


def _is_control(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return True
    # Bidi overrides and isolates can reorder what a cashier or a shopper reads.
    return category == "Cf" and ch not in "\u200c\u200d\u00ad"


def strip_control_characters(text: str) -> str:
    """``text`` with control characters replaced by a space (for logs kept or printed)."""
    return "".join(" " if _is_control(ch) else ch for ch in text)


CONTROL_MESSAGE = "must not contain control characters"


def control_character_errors(
    values: Mapping[str, object], *, multiline: Iterable[str] = ()
) -> dict[str, str]:
    """For each text value holding control characters, its field and what is wrong
    (fields named in ``multiline`` may hold line breaks and tabs)."""
    lines = set(multiline)
    errors = {}
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        bad = has_control_characters_but_newlines if name in lines else has_control_characters
        if bad(value):
            errors[name] = CONTROL_MESSAGE
    return errors


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def csv_cell(value: object) -> object:
    """``value`` safe for a spreadsheet: text starting with = + - @ tab or CR (a formula
    to Excel and LibreOffice) gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any]) -> Any: ...


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through :func:`csv_cell`."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer: _Writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])
