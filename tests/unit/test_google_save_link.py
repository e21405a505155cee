"""The service account key file and the "Add to Google Wallet" save link."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.passes.google.auth import AccessTokens, ServiceAccount, ServiceAccountError
from app.passes.google.objects import class_id, object_id
from app.passes.google.save_link import MAX_URL_LENGTH, save_jwt, save_url

ISSUER = "3388000000022195345"
EMAIL = "walletpass@walletpass-prod-481516.iam.gserviceaccount.com"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def info(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The shape of the JSON key file Google Cloud hands out."""
    return {
        "type": "service_account",
        "project_id": "walletpass-prod-481516",
        "private_key_id": "8f1c0e7d2b9a4c3e5f6a7b8c9d0e1f2a3b4c5d6e",
        "private_key": pem(rsa_key),
        "client_email": EMAIL,
        "client_id": "104578123456789012345",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture(scope="module")
def account(info: dict[str, Any]) -> ServiceAccount:
    return ServiceAccount.from_info(info)


def test_service_account_from_file(tmp_path: Path, info: dict[str, Any]) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    account = ServiceAccount.from_file(path)
    assert account.client_email == EMAIL
    assert account.private_key_id == info["private_key_id"]
    assert account.token_uri == "https://oauth2.googleapis.com/token"
    assert "PRIVATE" not in repr(account)


def test_service_account_refuses_broken_key_files(tmp_path: Path, info: dict[str, Any]) -> None:
    with pytest.raises(ServiceAccountError, match="client_email"):
        ServiceAccount.from_info({**info, "client_email": ""})
    with pytest.raises(ServiceAccountError, match="unreadable"):
        ServiceAccount.from_info({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA"})
    with pytest.raises(ServiceAccountError, match="not an RSA key"):
        ServiceAccount.from_info(
            {**info, "private_key": pem(ec.generate_private_key(ec.SECP256R1()))}
        )
    with pytest.raises(ServiceAccountError, match="unreadable"):
        ServiceAccount.from_file(tmp_path / "missing.json")


def test_token_assertion_claims(account: ServiceAccount) -> None:
    tokens = AccessTokens(account, "https://oauth2.googleapis.com/token", clock=lambda: 0.0)
    assertion = tokens.assertion()  # times from the wall clock, not the cache's clock
    assert jwt.get_unverified_header(assertion)["kid"] == account.private_key_id
    claims = jwt.decode(
        assertion,
        account.public_key(),
        algorithms=["RS256"],
        audience="https://oauth2.googleapis.com/token",
    )
    assert abs(claims["iat"] - time.time()) < 60
    assert claims == {
        "iss": EMAIL,
        "scope": "https://www.googleapis.com/auth/wallet_object.issuer",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": claims["iat"],
        "exp": claims["iat"] + 3600,
    }
    with pytest.raises(ValueError):
        AccessTokens(account, "file:///etc/passwd")


def test_save_jwt_decodes_with_the_account_public_key(account: ServiceAccount) -> None:
    objects = [{"id": object_id(ISSUER, "Zq3xV8kP2mN5rT7wY9aB1c"),
                "classId": class_id(ISSUER, "little-steps")}]  # fmt: skip
    token = save_jwt(
        account, origins=["https://wallet.example.test"], objects=objects, issued_at=1_773_480_600
    )
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": account.private_key_id,
    }
    claims = jwt.decode(token, account.public_key(), algorithms=["RS256"], audience="google")
    assert claims == {
        "iss": EMAIL,
        "aud": "google",
        "typ": "savetowallet",
        "iat": 1_773_480_600,
        "origins": ["https://wallet.example.test"],
        "payload": {"loyaltyObjects": objects},
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other.public_key(), algorithms=["RS256"], audience="google")


def test_save_url_of_a_realistic_object_stays_short(account: ServiceAccount) -> None:
    objects = [{"id": object_id(ISSUER, "x" * 64), "classId": class_id(ISSUER, "y" * 40)}]
    token = save_jwt(
        account,
        origins=["https://loyalty.little-steps.example.com"],
        objects=objects,
        issued_at=1_773_480_600,
    )
    url = save_url(token)
    assert url == "https://pay.google.com/gp/v/save/" + token
    assert len(url) < MAX_URL_LENGTH == 1800
    jwt.decode(token, account.public_key(), algorithms=["RS256"], audience="google")


def test_save_jwt_needs_skinny_objects(account: ServiceAccount) -> None:
    with pytest.raises(ValueError):
        save_jwt(account, origins=[], objects=[], issued_at=0)
    with pytest.raises(ValueError):
        save_jwt(account, origins=[], objects=[{"id": f"{ISSUER}.x"}], issued_at=0)
