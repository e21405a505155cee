"""Pure rules of the loyalty core: identifiers, barcodes, input normalisation."""

from __future__ import annotations

import re
import secrets
from datetime import date

import phonenumbers

from app.bounds import has_control_characters, has_control_characters_but_newlines

LOCALES = ("ru", "en")
NAME_MAX = 100
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Crockford-like alphabet: no I, L, O, U, so a barcode read out loud survives.
_SECRET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # noqa: S105 - an alphabet, not a secret
BARCODE_SECRET_LENGTH = 10  # 50 bits


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return (
        number.isascii()
        and number.isdigit()
        and len(number) > 1
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def new_card_number() -> str:
    """13 digits: 12 random (first never 0) and a Luhn check digit against typos."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(11))
    return body + luhn_check_digit(body)


def format_card_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def new_barcode_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(BARCODE_SECRET_LENGTH))


def barcode_value(number: str, secret: str) -> str:
    # Upper-case letters, digits and '-' keep the QR in its compact alphanumeric mode.
    return f"{number}-{secret}"


def parse_barcode(value: str) -> tuple[str, str] | None:
    """Split a scanned barcode into (number, secret), or None if it is not ours."""
    number, sep, secret = value.strip().upper().partition("-")
    if not sep or not luhn_valid(number) or len(secret) != BARCODE_SECRET_LENGTH:
        return None
    if any(ch not in _SECRET_ALPHABET for ch in secret):
        return None
    return number, secret


def normalise_phone(raw: str, region: str) -> str | None:
    """E.164 form of a phone number typed by a shopper, or None if it is not valid."""
    raw = raw.strip()
    if not raw or len(raw) > 32:
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def clean_name(raw: str) -> str | None:
    name = " ".join(raw.split())
    if not name or len(name) > NAME_MAX or has_control_characters_but_newlines(raw):
        return None
    return name


def clean_email(raw: str) -> str | None:
    email = raw.strip()
    if len(email) > 254 or not EMAIL_RE.match(email) or has_control_characters(email):
        return None
    return email.lower()


def birthday_problem(birthday: date, today: date) -> str | None:
    if birthday > today:
        return "must not be in the future"
    if birthday.year < today.year - 120:
        return "is too far in the past"
    return None


NBSP = "\u00a0"


def format_percent(basis_points: int) -> str:
    """ "7 %" with a no-break space, so the sign never wraps onto its own line."""
    whole, rest = divmod(basis_points, 100)
    number = str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")
    return f"{number}{NBSP}%"


def format_points(points: int) -> str:
    """ "2 000": thousands grouped with no-break spaces."""
    return f"{points:,}".replace(",", NBSP)


def fold(text: str) -> str:
    """Text for case-blind search in any script: case-folded, ё read as е, spaces squeezed
    (SQLite's lower() folds ASCII only, so the folding is done here, on both sides)."""
    return " ".join(text.casefold().replace("ё", "е").split())
