"""pass.json and pass.strings of a store card, rendered from CardContent.

Texts in pass.json are written in the member's language; each ``<lang>.lproj/
pass.strings`` maps those literal strings to that language, so a phone in any
supported language shows translated labels, and a phone in another language still
sees complete texts (Wallet's choice of folder is undefined there).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from app.passes.content import CardContent, Field
from app.passes.templates import LOCALES, Localized

SLOTS = ("header", "primary", "secondary", "auxiliary", "back")


def rgb(hex_color: str) -> str:
    value = hex_color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


class _Strings:
    """Collects literal -> translation pairs while pass.json is being built."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.tables: dict[str, dict[str, str]] = {lang: {} for lang in LOCALES}

    def text(self, localized: Localized) -> str:
        literal = localized[self.locale]
        if any(localized[lang] != literal for lang in LOCALES):
            for lang in LOCALES:
                # The first translation of a literal wins; identical literals
                # almost always carry identical meaning.
                self.tables[lang].setdefault(literal, localized[lang])
        return literal


def _field(f: Field, strings: _Strings) -> dict[str, Any]:
    out: dict[str, Any] = {"key": f.key, "label": strings.text(f.label)}
    if isinstance(f.value, int):
        out["value"] = f.value
        out["numberStyle"] = "PKNumberStyleDecimal"
    else:
        out["value"] = strings.text(f.value)
    if f.change_message is not None:
        out["changeMessage"] = strings.text(f.change_message)
    return out


def render_pass_json(
    content: CardContent, *, pass_type_id: str, team_id: str, web_service_url: str
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The pass.json dictionary and the strings table of every language."""
    strings = _Strings(content.locale)
    barcode = {
        "format": "PKBarcodeFormatQR",
        "message": content.barcode,
        "messageEncoding": "iso-8859-1",
        "altText": content.barcode_alt_text,
    }
    style: dict[str, list[dict[str, Any]]] = {f"{slot}Fields": [] for slot in SLOTS}
    for f in content.fields:
        style[f"{f.slot}Fields"].append(_field(f, strings))
    data: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": pass_type_id,
        "serialNumber": content.serial_number,
        "teamIdentifier": team_id,
        "organizationName": content.organization_name,
        "description": strings.text(content.description),
        "foregroundColor": rgb(content.colors.foreground),
        "backgroundColor": rgb(content.colors.background),
        "labelColor": rgb(content.colors.label),
        "webServiceURL": web_service_url,
        "authenticationToken": content.auth_token,
        "barcodes": [barcode],
        "barcode": barcode,  # iOS 8 and older read only this key
        "sharingProhibited": True,
        "storeCard": style,
    }
    if content.locations:
        data["locations"] = [
            {
                "latitude": loc.latitude,
                "longitude": loc.longitude,
                **({"relevantText": strings.text(loc.relevant_text)} if loc.relevant_text else {}),
            }
            for loc in content.locations
        ]
    if content.voided:
        data["voided"] = True
    return data, strings.tables


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


@functools.lru_cache(maxsize=1024)
def _render_strings(items: tuple[tuple[str, str], ...]) -> bytes:
    lines = [f'"{_escape(k)}" = "{_escape(v)}";' for k, v in items]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_strings(table: dict[str, str]) -> bytes:
    """A pass.strings file. Most passes of a program share the same texts, so
    rendered files are cached by content."""
    return _render_strings(tuple(sorted(table.items())))


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
