"""Checking POS API bodies field by field, so a till integrator sees every mistake at once."""

from __future__ import annotations

import re
from typing import Any

from app.loyalty.errors import ValidationError

ID = re.compile(r"^[A-Za-z0-9._:/#-]{1,64}$")
MAX_AMOUNT = 10**11  # a billion in major units: anything above is a typo
MAX_LINES = 500
LINE_FIELDS = {"sku": str, "name": str, "quantity": int, "price": int, "size": str, "category": str}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError({name: "is not a field of this request" for name in unknown})


def text_id(body: dict[str, Any], name: str, errors: dict[str, str]) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not ID.match(value):
        errors[name] = "is required: 1-64 letters, digits or . _ : / # -"
        return ""
    return value


def amount(
    body: dict[str, Any], name: str, errors: dict[str, str], *, required: bool, minimum: int = 1
) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_AMOUNT:
        errors[name] = f"must be a whole number from {minimum} (minor units, e.g. kopecks)"
        return None
    return value


def lines(body: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]] | None:
    value = body.get("lines")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_LINES:
        errors["lines"] = f"must be a list of at most {MAX_LINES} line objects"
        return None
    for i, line in enumerate(value):
        if not isinstance(line, dict) or not line:
            errors[f"lines[{i}]"] = "must be an object"
            continue
        for key, item in line.items():
            kind = LINE_FIELDS.get(key)
            if kind is None:
                errors[f"lines[{i}].{key}"] = "is not a line field"
            elif kind is int and (not _is_int(item) or item < 0):
                errors[f"lines[{i}].{key}"] = "must be a whole number >= 0"
            elif kind is str and (not isinstance(item, str) or len(item) > 200):
                errors[f"lines[{i}].{key}"] = "must be text of at most 200 characters"
    return value
