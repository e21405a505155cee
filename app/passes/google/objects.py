"""Google Wallet LoyaltyClass and LoyaltyObject bodies, rendered from CardContent.

The object carries what the Apple pass shows, field by field:

==============  ==========================================================
CardContent     LoyaltyObject
==============  ==========================================================
barcode         ``barcode`` (QR_CODE, ``alternateText`` = the card number)
                or ``rotatingBarcode`` with a TOTP suffix
balance         ``loyaltyPoints`` (label, ``balance.int``)
discount        ``secondaryLoyaltyPoints`` (label, ``balance.string``)
member          ``accountName``
number          ``accountId``
tier, offer     ``textModulesData`` ids ``tier`` / ``offer``, first
back fields     ``textModulesData``; a web address or a phone number
                becomes a link in ``linksModuleData`` (https:, tel:)
voided          ``state`` INACTIVE (unless another state was asked for)
==============  ==========================================================

Texts are LocalizedStrings: ``defaultValue`` in the member's language and the
other languages in ``translatedValues``. Store locations, colours and the program
name live on the class (one PATCH there reaches every card).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.passes.content import CardContent, Field
from app.passes.templates import LOCALES, Localized

MAX_TEXT_MODULES = 10
MAX_LOCATIONS = 10
TOTP_DIGITS = 6
ROTATING_SEPARATOR = "-"  # rotating code = "<static barcode>-<TOTP digits>"
TOTP_PLACEHOLDER = "{totp_value_0}"

# Fields of CardContent that have a place of their own on the object.
POINTS_KEY = "balance"
SECONDARY_POINTS_KEY = "discount"
ACCOUNT_NAME_KEY = "member"
ACCOUNT_ID_KEY = "number"

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MODULE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_WEB = re.compile(r"^https?://\S+$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\u00a0-]*[0-9]$")
_PHONE_DIGITS = range(10, 16)  # E.164 has at most 15; fewer than 10 is rather a date or a code


@dataclass(frozen=True)
class ProgramLook:
    """What the class needs: a program's name, look, stores and callback."""

    program_slug: str
    issuer_name: str
    program_name: str
    logo_url: str
    hero_image_url: str | None
    background_color: str  # "#RRGGBB"
    callback_url: str | None
    locations: tuple[tuple[float, float], ...]
    locale: str  # the program's default language ("ru"/"en")
    # Labels Google shows next to accountName / accountId (the template's "member"
    # and "number" labels); Google's own wording when absent.
    account_name_label: Localized | None = None
    account_id_label: Localized | None = None


def _id(issuer_id: str, suffix: str, what: str) -> str:
    if not issuer_id or _ID_UNSAFE.search(issuer_id):
        raise ValueError(f"issuer id {issuer_id!r} must be letters, digits, '.', '_' or '-'")
    clean = _ID_UNSAFE.sub("_", suffix)
    if not clean:
        raise ValueError(f"empty {what}")
    return f"{issuer_id}.{clean}"


def class_id(issuer_id: str, program_slug: str) -> str:
    """``<issuer>.<slug>``, characters Google refuses replaced by ``_``."""
    return _id(issuer_id, program_slug, "program slug")


def object_id(issuer_id: str, serial_number: str) -> str:
    """``<issuer>.<serial>``, characters Google refuses replaced by ``_``."""
    return _id(issuer_id, serial_number, "serial number")


def localized_string(text: Localized, default_language: str) -> dict[str, Any]:
    """A LocalizedString: the default language first, the others as translations."""
    if not text:
        raise ValueError("a localized text needs at least one language")
    default = default_language if default_language in text else next(iter(text))
    out: dict[str, Any] = {"defaultValue": {"language": default, "value": text[default]}}
    others = [{"language": lang, "value": value} for lang, value in text.items() if lang != default]
    if others:
        out["translatedValues"] = others
    return out


def _text(value: Localized | int) -> Localized:
    return {lang: str(value) for lang in LOCALES} if isinstance(value, int) else value


def _default(text: Localized, language: str) -> str:
    return text.get(language) or next(iter(text.values()))


def _points(f: Field, language: str) -> dict[str, Any]:
    if isinstance(f.value, int):
        balance: dict[str, Any] = {"int": f.value}
    else:
        balance = {"string": _default(f.value, language)}
    return {
        "label": _default(f.label, language),
        "localizedLabel": localized_string(f.label, language),
        "balance": balance,
    }


def _link_target(text: Localized) -> str | None:
    """A URI for a value that is the same web address or phone number in every language."""
    values = {value.strip() for value in text.values()}
    if len(values) != 1:
        return None
    value = values.pop()
    if _WEB.match(value):
        return value
    if _PHONE.match(value) and sum(ch.isdigit() for ch in value) in _PHONE_DIGITS:
        return "tel:" + re.sub(r"[^0-9+]", "", value)
    return None


def _modules(
    fields: list[Field], language: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    texts: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for f in fields:
        value = _text(f.value)
        module_id = _MODULE_ID_UNSAFE.sub("_", f.key)
        target = _link_target(value)
        if target is not None:
            links.append(
                {
                    "id": module_id,
                    "uri": target,
                    "description": _default(f.label, language),
                    "localizedDescription": localized_string(f.label, language),
                }
            )
        elif len(texts) < MAX_TEXT_MODULES:
            texts.append(
                {
                    "id": module_id,
                    "header": _default(f.label, language),
                    "body": _default(value, language),
                    "localizedHeader": localized_string(f.label, language),
                    "localizedBody": localized_string(value, language),
                }
            )
    return texts, links


def _front_first(f: Field) -> int:
    return 0 if f.slot != "back" else 1


def loyalty_object(
    issuer_id: str,
    program_slug: str,
    content: CardContent,
    *,
    state: str = "ACTIVE",
    rotating_totp_key_hex: str | None = None,
    totp_period_ms: int = 30_000,
) -> dict[str, Any]:
    """The LoyaltyObject of a card. A voided card is INACTIVE when ``state`` is left
    ACTIVE. ``textModulesData`` and ``linksModuleData`` are always present (maybe
    empty) so that a PATCH with this body also removes modules the card lost.
    With ``rotating_totp_key_hex`` the code shown is ``rotatingBarcode`` (static
    barcode + ``-`` + a TOTP value) instead of ``barcode``: create such objects over
    REST only, never inside a save JWT, so the secret stays with Google and us."""
    language = content.locale
    special = {POINTS_KEY, SECONDARY_POINTS_KEY, ACCOUNT_NAME_KEY, ACCOUNT_ID_KEY}
    by_key = {f.key: f for f in content.fields}
    rest = sorted((f for f in content.fields if f.key not in special), key=_front_first)
    texts, links = _modules(rest, language)
    body: dict[str, Any] = {
        "id": object_id(issuer_id, content.serial_number),
        "classId": class_id(issuer_id, program_slug),
        "state": "INACTIVE" if content.voided and state == "ACTIVE" else state,
    }
    if rotating_totp_key_hex is None:
        body["barcode"] = {
            "type": "QR_CODE",
            "value": content.barcode,
            "alternateText": content.barcode_alt_text,
        }
    else:
        body["rotatingBarcode"] = rotating_barcode(
            content.barcode, content.barcode_alt_text, rotating_totp_key_hex, totp_period_ms
        )
    if POINTS_KEY in by_key:
        body["loyaltyPoints"] = _points(by_key[POINTS_KEY], language)
    if SECONDARY_POINTS_KEY in by_key:
        body["secondaryLoyaltyPoints"] = _points(by_key[SECONDARY_POINTS_KEY], language)
    if ACCOUNT_NAME_KEY in by_key:
        body["accountName"] = _default(_text(by_key[ACCOUNT_NAME_KEY].value), language)
    if ACCOUNT_ID_KEY in by_key:
        body["accountId"] = _default(_text(by_key[ACCOUNT_ID_KEY].value), language)
    body["textModulesData"] = texts
    body["linksModuleData"] = {"uris": links}
    return body


def rotating_barcode(
    value: str, alternate_text: str, key_hex: str, period_ms: int
) -> dict[str, Any]:
    """A QR code whose value is ``<value>-<6 TOTP digits>`` (RFC 6238, SHA-1)."""
    if not _HEX.match(key_hex):
        raise ValueError("the TOTP key must be an even number of hex digits")
    if period_ms <= 0:
        raise ValueError("the TOTP period must be positive")
    return {
        "type": "QR_CODE",
        "valuePattern": f"{value}{ROTATING_SEPARATOR}{TOTP_PLACEHOLDER}",
        "alternateText": alternate_text,
        "totpDetails": {
            "algorithm": "TOTP_SHA1",
            "periodMillis": str(period_ms),
            # RFC 4648 Base16 is upper-case.
            "parameters": [{"key": key_hex.upper(), "valueLength": TOTP_DIGITS}],
        },
    }


def loyalty_class(
    issuer_id: str, look: ProgramLook, *, review_status: str = "UNDER_REVIEW"
) -> dict[str, Any]:
    """The LoyaltyClass of a program. Send ``UNDER_REVIEW`` (the default) on every
    insert or patch, also of an approved class, as Google asks."""
    if not _COLOR.match(look.background_color):
        raise ValueError(f"background colour {look.background_color!r} is not #RRGGBB")
    language = look.locale
    body: dict[str, Any] = {
        "id": class_id(issuer_id, look.program_slug),
        "issuerName": look.issuer_name,
        "programName": look.program_name,
        "programLogo": _image(look.logo_url, look.program_name, language),
        "hexBackgroundColor": look.background_color.lower(),
        "reviewStatus": review_status,
        # One member per card, on all of the member's devices (Apple: sharingProhibited).
        "multipleDevicesAndHoldersAllowedStatus": "ONE_USER_ALL_DEVICES",
        "merchantLocations": [
            {"latitude": lat, "longitude": lon} for lat, lon in look.locations[:MAX_LOCATIONS]
        ],
    }
    if look.hero_image_url:
        body["heroImage"] = _image(look.hero_image_url, look.program_name, language)
    if look.callback_url:
        body["callbackOptions"] = {"url": look.callback_url}
    if look.account_name_label:
        body["accountNameLabel"] = _default(look.account_name_label, language)
        body["localizedAccountNameLabel"] = localized_string(look.account_name_label, language)
    if look.account_id_label:
        body["accountIdLabel"] = _default(look.account_id_label, language)
        body["localizedAccountIdLabel"] = localized_string(look.account_id_label, language)
    return body


def _image(url: str, description: str, language: str) -> dict[str, Any]:
    return {
        "sourceUri": {"uri": url},
        "contentDescription": localized_string({language: description}, language),
    }


def message(
    message_id: str,
    header: Localized,
    body: Localized,
    *,
    language: str,
    notify: bool = False,
) -> dict[str, Any]:
    """A Message for ``addMessage``: TEXT_AND_NOTIFY spends one of the pass's three
    notifications a day, TEXT is silent."""
    return {
        "id": _MODULE_ID_UNSAFE.sub("_", message_id),
        "header": _default(header, language),
        "body": _default(body, language),
        "localizedHeader": localized_string(header, language),
        "localizedBody": localized_string(body, language),
        "messageType": "TEXT_AND_NOTIFY" if notify else "TEXT",
    }
