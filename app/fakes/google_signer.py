"""Google's side of save/delete callbacks, for tests and development: a root key, an
intermediate key it signs, and ECv2SigningOnly messages signed with them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.passes.google.callbacks import RootKey, length_value

ISSUER = "3388000000022195345"
NOW = 1_773_480_600_000  # 2026-03-14 09:30 UTC in ms
HOUR = 3_600_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def spki(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64(der)


def sign(key: ec.EllipticCurvePrivateKey, *pieces: str) -> str:
    return b64(key.sign(length_value(*pieces), ec.ECDSA(hashes.SHA256())))


@dataclass
class FakeGoogle:
    """Google's side: a root key, an intermediate key it signs, messages it signs."""

    root: ec.EllipticCurvePrivateKey
    intermediate: ec.EllipticCurvePrivateKey

    def root_key(self, expiration_ms: int | None = None) -> RootKey:
        return RootKey(self.root.public_key(), "ECv2SigningOnly", expiration_ms)

    def body(
        self,
        *,
        event: str = "save",
        nonce: str = "n-1",
        exp_time_ms: int = NOW + 60_000,
        key_expiration_ms: int = NOW + 24 * HOUR,
        class_id: str = f"{ISSUER}.little-steps",
        object_id: str = f"{ISSUER}.Zq3xV8kP2mN5rT7wY9aB1c",
        recipient: str = ISSUER,
        signer: ec.EllipticCurvePrivateKey | None = None,
        key_signer: ec.EllipticCurvePrivateKey | None = None,
        **overrides: Any,
    ) -> bytes:
        signed_key = json.dumps(
            {"keyValue": spki(self.intermediate), "keyExpiration": str(key_expiration_ms)}
        )
        message = json.dumps(
            {
                "classId": class_id,
                "objectId": object_id,
                "eventType": event,
                "expTimeMillis": exp_time_ms,
                "count": 1,
                "nonce": nonce,
            }
        )
        envelope = {
            "protocolVersion": "ECv2SigningOnly",
            "signature": sign(
                signer or self.intermediate,
                "GooglePayPasses",
                recipient,
                "ECv2SigningOnly",
                message,
            ),
            "intermediateSigningKey": {
                "signedKey": signed_key,
                "signatures": [
                    sign(key_signer or self.root, "GooglePayPasses", "ECv2SigningOnly", signed_key)
                ],
            },
            "signedMessage": message,
            **overrides,
        }
        return json.dumps(envelope).encode()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
