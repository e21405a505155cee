"""Validation of Google Wallet request bodies against the discovery document, for tests."""

from __future__ import annotations

from typing import Any

from app.fakes.walletobjects_schema import SchemaValidationError, WalletObjectsSchema

__all__ = ["SchemaValidationError", "errors", "validate"]


def validate(schema_name: str, body: Any, *, allow_deprecated: bool = False) -> None:
    """Raises SchemaValidationError when ``body`` is not a valid ``schema_name``
    (``LoyaltyClass``, ``LoyaltyObject``, ``AddMessageRequest``, ...). Our own bodies
    use no deprecated field either, unless told otherwise."""
    WalletObjectsSchema.load().validate(schema_name, body, allow_deprecated=allow_deprecated)


def errors(schema_name: str, body: Any, *, allow_deprecated: bool = False) -> list[str]:
    return WalletObjectsSchema.load().errors(schema_name, body, allow_deprecated=allow_deprecated)
