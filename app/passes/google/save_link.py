""" "Add to Google Wallet" links: a skinny save JWT signed with the service account.

Insert the object over REST first and put only ``{id, classId}`` in the JWT: the
link stays short (Google advises under ~1 800 characters) and no secret, such as a
rotating barcode's TOTP key, leaves our servers. A link only adds a card; changes
to an already saved card go through a PATCH of the object.
"""

from __future__ import annotations

from typing import Any

from app.passes.google.auth import ServiceAccount

SAVE_URL = "https://pay.google.com/gp/v/save/"
MAX_URL_LENGTH = 1800


def save_jwt(
    account: ServiceAccount,
    *,
    origins: list[str],
    objects: list[dict[str, str]],
    issued_at: int,
) -> str:
    """The save JWT for loyalty objects given as ``{"id": ..., "classId": ...}``.
    ``origins``: the web origins (``https://host``) whose pages show the button;
    ``issued_at``: Unix seconds from the caller's clock."""
    if not objects:
        raise ValueError("a save link needs at least one object")
    for obj in objects:
        if not obj.get("id") or not obj.get("classId"):
            raise ValueError("every object of a save link needs an id and a classId")
    claims: dict[str, Any] = {
        "iss": account.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": issued_at,
        "origins": list(origins),
        "payload": {"loyaltyObjects": [dict(obj) for obj in objects]},
    }
    return account.sign(claims)


def save_url(token: str) -> str:
    return SAVE_URL + token
