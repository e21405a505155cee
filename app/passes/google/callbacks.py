"""Verification of Google Wallet save/delete callbacks (ECv2SigningOnly).

The checks of Tink's PaymentMethodTokenRecipient for this protocol, in its order:

1. ``protocolVersion`` is ``ECv2SigningOnly``;
2. one of ``intermediateSigningKey.signatures`` verifies, with one of Google's root
   keys for this protocol that has not expired, over
   LV("GooglePayPasses") LV("ECv2SigningOnly") LV(signedKey);
3. the intermediate key (``signedKey.keyValue``) has not expired (``keyExpiration``);
4. ``signature`` verifies with the intermediate key over
   LV("GooglePayPasses") LV(issuer id) LV("ECv2SigningOnly") LV(signedMessage);
5. the message has not expired (``expTimeMillis``) and its classId/objectId are ours.

LV(s) is the 4-byte little-endian length of the UTF-8 bytes of s, then the bytes.
Signatures are base64 DER ECDSA over P-256 with SHA-256. Duplicates are not detected
here: the caller de-duplicates on the returned ``nonce``.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PROTOCOL = "ECv2SigningOnly"
SENDER_ID = "GooglePayPasses"


class CallbackError(ValueError):
    """A callback that must not be trusted; ``reason`` says why (a short code:
    bad_json, unsupported_protocol, intermediate_signature, intermediate_expired,
    message_signature, message_expired, wrong_issuer, bad_key)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class RootKey:
    key: ec.EllipticCurvePublicKey
    protocol_version: str
    key_expiration_ms: int | None  # None: does not expire

    def usable(self, now_ms: int) -> bool:
        return self.protocol_version == PROTOCOL and (
            self.key_expiration_ms is None or self.key_expiration_ms > now_ms
        )


@dataclass(frozen=True)
class CallbackMessage:
    class_id: str
    object_id: str
    event_type: str  # "save" | "del"
    exp_time_ms: int
    count: int
    nonce: str


def length_value(*pieces: str) -> bytes:
    """The signed bytes: each piece as a 4-byte little-endian length + its UTF-8 bytes."""
    out = bytearray()
    for piece in pieces:
        data = piece.encode("utf-8")
        out += struct.pack("<I", len(data)) + data
    return bytes(out)


def _public_key(b64: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from base64 X.509 SubjectPublicKeyInfo (DER)."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(b64, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise CallbackError("bad_key", f"unreadable public key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CallbackError("bad_key", "not an ECDSA P-256 public key")
    return key


def load_root_keys(json_text: str | bytes, *, now_ms: int | None) -> list[RootKey]:
    """Google's published root signing keys (https://pay.google.com/gp/m/issuer/keys):
    only the ECv2SigningOnly keys, and of those only the ones unexpired at ``now_ms``;
    None keeps them all (the verifier checks each key's expiry at the callback's time)."""
    try:
        entries = json.loads(json_text)["keys"]
        if not isinstance(entries, list):
            raise TypeError("'keys' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise CallbackError("bad_json", f"root keys: {exc}") from None
    keys: list[RootKey] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("protocolVersion") != PROTOCOL:
            continue
        expiration = entry.get("keyExpiration")
        try:
            expiration_ms = None if expiration in (None, "") else int(expiration)
        except (ValueError, TypeError):
            raise CallbackError("bad_json", f"root key expiration {expiration!r}") from None
        root = RootKey(_public_key(str(entry.get("keyValue", ""))), PROTOCOL, expiration_ms)
        if now_ms is None or root.usable(now_ms):
            keys.append(root)
    return keys


def _verify(key: ec.EllipticCurvePublicKey, signature_b64: Any, data: bytes) -> bool:
    if not isinstance(signature_b64, str):
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def _json_object(text: Any, what: str) -> dict[str, Any]:
    if not isinstance(text, str | bytes):
        raise CallbackError("bad_json", f"{what} is not a string")
    try:
        value = json.loads(text)
    except ValueError:
        raise CallbackError("bad_json", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise CallbackError("bad_json", f"{what} is not a JSON object")
    return value


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise CallbackError("bad_json", f"{what} is not an integer")
    try:
        return int(value)
    except (ValueError, TypeError):
        raise CallbackError("bad_json", f"{what} is not an integer") from None


class CallbackVerifier:
    def __init__(self, issuer_id: str, root_keys: list[RootKey]) -> None:
        self.issuer_id = issuer_id
        self.root_keys = list(root_keys)

    def verify(self, body: bytes, now_ms: int) -> CallbackMessage:
        """The message of a callback body, or CallbackError."""
        envelope = _json_object(body, "the body")
        if envelope.get("protocolVersion") != PROTOCOL:
            raise CallbackError("unsupported_protocol", str(envelope.get("protocolVersion")))
        intermediate = envelope.get("intermediateSigningKey")
        if not isinstance(intermediate, dict):
            raise CallbackError("bad_json", "no intermediateSigningKey")
        signed_key = intermediate.get("signedKey")
        signatures = intermediate.get("signatures")
        signed_message = envelope.get("signedMessage")
        if not isinstance(signed_key, str) or not isinstance(signatures, list):
            raise CallbackError("bad_json", "intermediateSigningKey lacks signedKey/signatures")
        if not isinstance(signed_message, str):
            raise CallbackError("bad_json", "signedMessage is not a string")

        key_data = length_value(SENDER_ID, PROTOCOL, signed_key)
        roots = [root.key for root in self.root_keys if root.usable(now_ms)]
        if not any(_verify(root, sig, key_data) for sig in signatures for root in roots):
            raise CallbackError("intermediate_signature", "no root key verifies the signed key")
        key_fields = _json_object(signed_key, "signedKey")
        if _integer(key_fields.get("keyExpiration"), "keyExpiration") <= now_ms:
            raise CallbackError("intermediate_expired")
        intermediate_key = _public_key(str(key_fields.get("keyValue", "")))

        message_data = length_value(SENDER_ID, self.issuer_id, PROTOCOL, signed_message)
        if not _verify(intermediate_key, envelope.get("signature"), message_data):
            raise CallbackError("message_signature")
        fields = _json_object(signed_message, "signedMessage")
        exp_time_ms = _integer(fields.get("expTimeMillis"), "expTimeMillis")
        if exp_time_ms <= now_ms:
            raise CallbackError("message_expired")
        class_id, object_id = fields.get("classId"), fields.get("objectId")
        prefix = f"{self.issuer_id}."
        for value in (class_id, object_id):
            if not isinstance(value, str) or not value.startswith(prefix):
                raise CallbackError("wrong_issuer", f"{value!r} is not one of ours")
        event_type, nonce = fields.get("eventType"), fields.get("nonce")
        if not isinstance(event_type, str) or not isinstance(nonce, str) or not nonce:
            raise CallbackError("bad_json", "eventType or nonce missing")
        return CallbackMessage(
            class_id=str(class_id),
            object_id=str(object_id),
            event_type=event_type,
            exp_time_ms=exp_time_ms,
            count=_integer(fields.get("count", 0), "count"),
            nonce=nonce,
        )
