"""Checks JSON bodies against the schemas of Google's Wallet discovery document.

The discovery document (``walletobjects.v1.json``) names every resource the Wallet
API knows (``LoyaltyClass``, ``LoyaltyObject``, ``AddMessageRequest``, ...). A body
is valid when every property is known to its schema (so a misspelt field is an
error, where Google would silently drop or reject it), every value has the declared
type, enums hold one of their values and ``$ref`` properties are valid in turn.
``format: int64`` strings may be sent as JSON strings or integers, as Google's
proto-JSON parser accepts both. ``null`` is refused: we never need to send one.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DOCUMENT_NAME = "walletobjects.v1.json"
# Google's discovery document (google-api-python-client 2.202.0, revision 20260806),
# kept in the repository so a clone tests on its own.
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / DOCUMENT_NAME
MAX_REPORTED = 10

_INTEGER_STRING = re.compile(r"^-?[0-9]+$")
_LONG_FORMATS = ("int64", "uint64")


class SchemaUnavailable(RuntimeError):
    """The discovery document is missing or unreadable."""


class SchemaValidationError(ValueError):
    """A body does not match its schema; ``errors`` lists every problem found."""

    def __init__(self, schema_name: str, errors: list[str]) -> None:
        shown = errors[:MAX_REPORTED]
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        super().__init__(f"invalid {schema_name}: " + "; ".join(shown) + more)
        self.schema_name = schema_name
        self.errors = errors


class WalletObjectsSchema:
    """The schemas of one discovery document."""

    def __init__(self, document: Mapping[str, Any], *, source: str = "<memory>") -> None:
        schemas = document.get("schemas")
        if not isinstance(schemas, dict) or not schemas:
            raise SchemaUnavailable(f"{source}: no 'schemas' in the discovery document")
        self.schemas: dict[str, dict[str, Any]] = schemas
        self.revision = str(document.get("revision", ""))
        self.source = source

    @classmethod
    def load(cls, path: Path | str | None = None) -> WalletObjectsSchema:
        return _load_cached(Path(path).resolve() if path is not None else DEFAULT_PATH)

    def errors(self, schema_name: str, body: Any, *, allow_deprecated: bool = True) -> list[str]:
        """Every problem of ``body`` as a ``$.path: message`` line (empty when valid)."""
        if schema_name not in self.schemas:
            raise KeyError(f"no schema named {schema_name!r} in {self.source}")
        found: list[str] = []
        self._check_ref(schema_name, body, "$", found, allow_deprecated)
        return found

    def validate(self, schema_name: str, body: Any, *, allow_deprecated: bool = True) -> None:
        found = self.errors(schema_name, body, allow_deprecated=allow_deprecated)
        if found:
            raise SchemaValidationError(schema_name, found)

    # -- the walk -----------------------------------------------------------------

    def _check_ref(
        self, name: str, value: Any, where: str, found: list[str], allow_deprecated: bool
    ) -> None:
        schema = self.schemas.get(name)
        if schema is None:
            found.append(f"{where}: the schema refers to an unknown type {name!r}")
            return
        self._check(schema, value, where, found, allow_deprecated, name)

    def _check(
        self,
        spec: Mapping[str, Any],
        value: Any,
        where: str,
        found: list[str],
        allow_deprecated: bool,
        type_name: str = "",
    ) -> None:
        if "$ref" in spec:
            self._check_ref(str(spec["$ref"]), value, where, found, allow_deprecated)
            return
        if value is None:
            found.append(f"{where}: null is not allowed")
            return
        kind = spec.get("type")
        if kind == "object":
            self._check_object(spec, value, where, found, allow_deprecated, type_name)
        elif kind == "array":
            if not isinstance(value, list):
                found.append(f"{where}: expected an array, got {_json_type(value)}")
                return
            items = spec.get("items", {})
            for index, item in enumerate(value):
                self._check(items, item, f"{where}[{index}]", found, allow_deprecated)
        elif kind == "string":
            self._check_string(spec, value, where, found)
        elif kind == "integer":
            if not _is_int(value):
                found.append(f"{where}: expected an integer, got {_json_type(value)}")
        elif kind == "number":
            if not (_is_int(value) or isinstance(value, float)):
                found.append(f"{where}: expected a number, got {_json_type(value)}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                found.append(f"{where}: expected a boolean, got {_json_type(value)}")
        elif kind == "any" or kind is None:
            pass
        else:
            found.append(f"{where}: the schema has an unsupported type {kind!r}")

    def _check_object(
        self,
        spec: Mapping[str, Any],
        value: Any,
        where: str,
        found: list[str],
        allow_deprecated: bool,
        type_name: str,
    ) -> None:
        if not isinstance(value, dict):
            found.append(f"{where}: expected an object, got {_json_type(value)}")
            return
        properties: Mapping[str, Any] = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        of = f" of {type_name}" if type_name else ""
        for key, item in value.items():
            path = f"{where}.{key}"
            prop = properties.get(key)
            if prop is None:
                if isinstance(extra, dict):
                    self._check(extra, item, path, found, allow_deprecated)
                else:
                    found.append(f"{path}: unknown field {key!r}{of}")
                continue
            if prop.get("deprecated") and not allow_deprecated:
                found.append(f"{path}: field {key!r}{of} is deprecated")
            self._check(prop, item, path, found, allow_deprecated)

    @staticmethod
    def _check_string(spec: Mapping[str, Any], value: Any, where: str, found: list[str]) -> None:
        if spec.get("format") in _LONG_FORMATS:
            if _is_int(value) or (isinstance(value, str) and _INTEGER_STRING.match(value)):
                return
            found.append(f"{where}: expected an int64 (string or integer), got {value!r}")
            return
        if not isinstance(value, str):
            found.append(f"{where}: expected a string, got {_json_type(value)}")
            return
        enum = spec.get("enum")
        if enum is not None and value not in enum:
            found.append(f"{where}: {value!r} is not one of {', '.join(enum)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_cache: dict[Path, WalletObjectsSchema] = {}
_cache_lock = threading.Lock()


def _load_cached(path: Path) -> WalletObjectsSchema:
    with _cache_lock:
        if path not in _cache:
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise SchemaUnavailable(
                    f"Google's Wallet discovery document is missing: {path} does not exist. "
                    f"Put {DOCUMENT_NAME} there or pass its path explicitly."
                ) from None
            except (OSError, ValueError) as exc:
                raise SchemaUnavailable(f"{path}: unreadable discovery document ({exc})") from None
            if not isinstance(document, dict):
                raise SchemaUnavailable(f"{path}: the discovery document is not a JSON object")
            _cache[path] = WalletObjectsSchema(document, source=str(path))
        return _cache[path]
