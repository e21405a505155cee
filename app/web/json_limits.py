"""Parsing request bodies as JSON without letting a deep nesting reach a RecursionError.

Every ``request.get_json`` goes through the app's JSON provider; this one refuses bodies
nested deeper than ``MAX_DEPTH`` (no API takes more than a few levels) before the
recursive parser sees them, so ``[[[[…`` answers 400 like any malformed body.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class JsonTooDeepError(ValueError):
    """A ValueError: ``get_json`` turns it into 400 (or None when ``silent``)."""


def nesting_depth(text: str | bytes) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings not counted."""
    data = text.encode() if isinstance(text, str) else text
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if nesting_depth(s) > MAX_DEPTH:
            raise JsonTooDeepError(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
        return super().loads(s, **kwargs)
