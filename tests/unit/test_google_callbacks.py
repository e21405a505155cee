"""Save/delete callbacks: ECv2SigningOnly verification against a fake Google root key."""

from __future__ import annotations

import json

import pytest

from app.fakes.google_signer import HOUR, ISSUER, NOW, FakeGoogle, new_key, spki
from app.passes.google.callbacks import (
    CallbackError,
    CallbackMessage,
    CallbackVerifier,
    RootKey,
    length_value,
    load_root_keys,
)


@pytest.fixture(scope="module")
def google() -> FakeGoogle:
    return FakeGoogle(new_key(), new_key())


@pytest.fixture
def verifier(google: FakeGoogle) -> CallbackVerifier:
    return CallbackVerifier(ISSUER, [google.root_key()])


def reason(verifier: CallbackVerifier, body: bytes, now_ms: int = NOW) -> str:
    with pytest.raises(CallbackError) as caught:
        verifier.verify(body, now_ms)
    return caught.value.reason


def test_length_value_encoding() -> None:
    assert length_value("ab", "") == b"\x02\x00\x00\x00ab\x00\x00\x00\x00"
    assert length_value("я") == b"\x02\x00\x00\x00\xd1\x8f"


def test_valid_save_and_del_return_the_message_with_its_nonce(
    google: FakeGoogle, verifier: CallbackVerifier
) -> None:
    saved = verifier.verify(google.body(nonce="abc-1"), NOW)
    assert saved == CallbackMessage(
        class_id=f"{ISSUER}.little-steps",
        object_id=f"{ISSUER}.Zq3xV8kP2mN5rT7wY9aB1c",
        event_type="save",
        exp_time_ms=NOW + 60_000,
        count=1,
        nonce="abc-1",
    )
    deleted = verifier.verify(google.body(event="del", nonce="abc-2"), NOW)
    assert (deleted.event_type, deleted.nonce) == ("del", "abc-2")
    # Replays are the caller's business (nonce de-duplication): verification passes.
    assert verifier.verify(google.body(nonce="abc-1"), NOW).nonce == "abc-1"


def test_expired_message(google: FakeGoogle, verifier: CallbackVerifier) -> None:
    body = google.body(exp_time_ms=NOW - 1)
    assert reason(verifier, body) == "message_expired"
    assert reason(verifier, google.body(exp_time_ms=NOW)) == "message_expired"
    assert verifier.verify(google.body(), NOW + 59_999).nonce == "n-1"


def test_wrong_issuer_prefix(google: FakeGoogle, verifier: CallbackVerifier) -> None:
    assert reason(verifier, google.body(class_id="999.little-steps")) == "wrong_issuer"
    assert reason(verifier, google.body(object_id=f"{ISSUER}0.abc")) == "wrong_issuer"
    # Signed for another issuer: the message signature covers the recipient id.
    assert reason(verifier, google.body(recipient="999")) == "message_signature"


def test_bad_message_signature(google: FakeGoogle, verifier: CallbackVerifier) -> None:
    assert reason(verifier, google.body(signer=new_key())) == "message_signature"
    tampered = json.loads(google.body())
    tampered["signedMessage"] = tampered["signedMessage"].replace('"save"', '"del"')
    assert reason(verifier, json.dumps(tampered).encode()) == "message_signature"
    assert reason(verifier, google.body(signature="not base64!")) == "message_signature"


def test_bad_intermediate_signature(google: FakeGoogle, verifier: CallbackVerifier) -> None:
    assert reason(verifier, google.body(key_signer=new_key())) == "intermediate_signature"
    # A second, valid root among the published keys is enough.
    other = CallbackVerifier(ISSUER, [RootKey(new_key().public_key(), "ECv2SigningOnly", None),
                                      google.root_key()])  # fmt: skip
    assert other.verify(google.body(), NOW).event_type == "save"


def test_expired_intermediate_key(google: FakeGoogle, verifier: CallbackVerifier) -> None:
    assert reason(verifier, google.body(key_expiration_ms=NOW - 1)) == "intermediate_expired"


def test_expired_root_key_and_root_key_of_another_protocol_are_ignored(
    google: FakeGoogle,
) -> None:
    ecv1 = CallbackVerifier(ISSUER, [RootKey(google.root.public_key(), "ECv1", None)])
    assert reason(ecv1, google.body()) == "intermediate_signature"
    expired = CallbackVerifier(ISSUER, [google.root_key(expiration_ms=NOW - 1)])
    assert reason(expired, google.body()) == "intermediate_signature"
    assert CallbackVerifier(ISSUER, [google.root_key(NOW + 1)]).verify(google.body(), NOW)


def test_unsupported_protocol_and_malformed_bodies(
    google: FakeGoogle, verifier: CallbackVerifier
) -> None:
    assert reason(verifier, google.body(protocolVersion="ECv2")) == "unsupported_protocol"
    assert reason(verifier, b"{not json") == "bad_json"
    assert reason(verifier, b"[]") == "bad_json"
    body = json.loads(google.body())
    del body["intermediateSigningKey"]
    assert reason(verifier, json.dumps(body).encode()) == "bad_json"
    assert reason(verifier, google.body(signedMessage=42)) == "bad_json"


def test_load_root_keys_keeps_unexpired_ecv2_signing_only_keys(google: FakeGoogle) -> None:
    published = {
        "keys": [
            {"keyValue": spki(google.root), "protocolVersion": "ECv2SigningOnly",
             "keyExpiration": str(NOW + HOUR)},
            {"keyValue": spki(new_key()), "protocolVersion": "ECv2SigningOnly",
             "keyExpiration": str(NOW - HOUR)},
            {"keyValue": spki(new_key()), "protocolVersion": "ECv1"},
            {"keyValue": spki(new_key()), "protocolVersion": "ECv2"},
        ]
    }  # fmt: skip
    keys = load_root_keys(json.dumps(published), now_ms=NOW)
    assert len(keys) == 1
    assert keys[0].key_expiration_ms == NOW + HOUR
    assert keys[0].key.public_numbers() == google.root.public_key().public_numbers()
    assert CallbackVerifier(ISSUER, keys).verify(google.body(), NOW).nonce == "n-1"
    for bad in ("nope", '{"no": []}', '{"keys": {}}'):
        with pytest.raises(CallbackError) as caught:
            load_root_keys(bad, now_ms=NOW)
        assert caught.value.reason == "bad_json"
    broken = {"keys": [{"keyValue": "AAAA", "protocolVersion": "ECv2SigningOnly"}]}
    with pytest.raises(CallbackError) as caught:
        load_root_keys(json.dumps(broken), now_ms=NOW)
    assert caught.value.reason == "bad_key"
