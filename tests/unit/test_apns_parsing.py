"""APNs answers, settings, provider tokens and the fake's decision table (no sockets)."""

from __future__ import annotations

import re
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.fakes.apns import FakeApns, _Request
from app.fakes.tls import make_server_cert
from app.push.apns.client import (
    ApnsConfig,
    ApnsConfigError,
    PushOutcome,
    classify,
    parse_error,
    short,
)
from app.push.apns.connection import backoff
from app.push.apns.provider_token import ProviderToken, ProviderTokenError, load_p8_key


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (200, None, PushOutcome.ACCEPTED),
        (410, "Unregistered", PushOutcome.UNREGISTERED),
        (410, "ExpiredToken", PushOutcome.UNREGISTERED),
        (400, "BadDeviceToken", PushOutcome.BAD_TOKEN),
        (400, "DeviceTokenNotForTopic", PushOutcome.BAD_TOKEN),
        (400, "TopicDisallowed", PushOutcome.CONFIG_ERROR),
        (400, "BadTopic", PushOutcome.CONFIG_ERROR),
        (400, "MissingTopic", PushOutcome.CONFIG_ERROR),
        (400, "BadExpirationDate", PushOutcome.REJECTED),
        (400, None, PushOutcome.REJECTED),
        (403, "BadCertificate", PushOutcome.CONFIG_ERROR),
        (403, "BadCertificateEnvironment", PushOutcome.CONFIG_ERROR),
        (403, "ExpiredProviderToken", PushOutcome.CONFIG_ERROR),  # cert mode; token mode retries
        (404, "BadPath", PushOutcome.REJECTED),
        (405, "MethodNotAllowed", PushOutcome.REJECTED),
        (413, "PayloadTooLarge", PushOutcome.REJECTED),
        (429, "TooManyRequests", None),
        (500, "InternalServerError", None),
        (503, "ServiceUnavailable", None),
    ],
)
def test_classify(status: int, reason: str | None, outcome: PushOutcome | None) -> None:
    assert classify(status, reason) is outcome


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b'{"reason":"BadDeviceToken"}', ("BadDeviceToken", None)),
        (b'{"reason":"Unregistered","timestamp":1700000000000}', ("Unregistered", 1700000000000)),
        (b'{"reason":"Unregistered","timestamp":"1700000000000"}', ("Unregistered", 1700000000000)),
        (b'{"reason":7,"timestamp":true}', (None, None)),
        (b"[]", (None, None)),
        (b"<html>bad gateway</html>", (None, None)),
        (b"", (None, None)),
    ],
)
def test_parse_error(body: bytes, parsed: tuple[str | None, int | None]) -> None:
    assert parse_error(body) == parsed


def test_logs_show_only_the_start_of_a_token() -> None:
    assert short("0123456789abcdef" * 4) == "01234567…"


def test_config_parses_the_url_and_rejects_nonsense() -> None:
    config = ApnsConfig(topic="pass.x", base_url="https://127.0.0.1:2197")
    assert (config.host, config.port) == ("127.0.0.1", 2197)
    assert ApnsConfig(topic="pass.x").port == 443
    with pytest.raises(ApnsConfigError, match="https"):
        ApnsConfig(topic="pass.x", base_url="http://api.push.apple.com")
    with pytest.raises(ApnsConfigError, match="auth"):
        ApnsConfig(topic="pass.x", auth="password")
    with pytest.raises(ApnsConfigError, match="key_file"):
        ApnsConfig(topic="pass.x", auth="token", key_id="K")
    with pytest.raises(ApnsConfigError):
        ApnsConfig(topic="pass.x", connections=0)
    with pytest.raises(ApnsConfigError, match="topic"):
        ApnsConfig(topic="pass.x\r\nx-evil: 1")


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    config = ApnsConfig(topic="pass.x", backoff_base=0.2, backoff_max=1.0)
    assert 0.1 <= backoff(config, 1) <= 0.2
    assert 0.4 <= backoff(config, 3) <= 0.8
    assert all(0.5 <= backoff(config, 10) <= 1.0 for _ in range(20))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_provider_token_is_reused_then_re_signed() -> None:
    key, clock = ec.generate_private_key(ec.SECP256R1()), Clock()
    tokens = ProviderToken(key, "KEY1234567", "TEAM123456", lifetime=40 * 60, clock=clock)
    first = tokens.current()
    assert jwt.get_unverified_header(first) == {"alg": "ES256", "kid": "KEY1234567", "typ": "JWT"}
    claims = jwt.decode(
        first, key.public_key(), algorithms=["ES256"], options={"verify_iat": False}
    )
    assert claims == {"iss": "TEAM123456", "iat": 1_800_000_000}
    clock.now += 39 * 60
    assert tokens.current() == first
    clock.now += 60
    second = tokens.current()
    assert second != first
    # ExpiredProviderToken: the first request to report it re-signs, the others reuse
    clock.now += 5
    third = tokens.refresh(second)
    assert third != second
    assert tokens.refresh(second) == third == tokens.current()


def test_p8_key_loading_errors(tmp_path: Path) -> None:
    with pytest.raises(ProviderTokenError, match="cannot read"):
        load_p8_key(tmp_path / "missing.p8")
    rsa_key = tmp_path / "rsa.p8"
    rsa_key.write_bytes(
        rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ProviderTokenError, match="P-256"):
        load_p8_key(rsa_key)
    (tmp_path / "junk.p8").write_text("not a key")
    with pytest.raises(ProviderTokenError, match="PEM"):
        load_p8_key(tmp_path / "junk.p8")


TOKEN = "ab" * 32


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> FakeApns:
    tls = make_server_cert(tmp_path_factory.mktemp("fake-tls"))
    return FakeApns(
        server_cert=tls.cert,
        server_key=tls.key,
        client_ca=None,
        dead_tokens={"dd" * 32},
        bad_tokens={"bb" * 32},
    )


def request(token: str = TOKEN, body: bytes = b"{}", **headers: str) -> _Request:
    h = {":method": "POST", ":path": f"/3/device/{token}", "apns-topic": "pass.x"}
    h |= {re.sub(r"^_", ":", k).replace("_", "-"): v for k, v in headers.items()}
    return _Request({k: v for k, v in h.items() if v}, bytearray(body))


@pytest.mark.parametrize(
    ("req", "answer"),
    [
        (request(), (200, None)),
        (request(_method="GET"), (405, "MethodNotAllowed")),
        (request(_path="/3/push/x"), (404, "BadPath")),
        (request(body=b"x" * 4097), (413, "PayloadTooLarge")),
        (request(apns_topic=""), (400, "MissingTopic")),
        (request(apns_topic="pass.other"), (400, "TopicDisallowed")),
        (request("not-hex"), (400, "BadDeviceToken")),
        (request("bb" * 32), (400, "BadDeviceToken")),
        (request(apns_priority="7"), (400, "BadPriority")),
        (request(apns_expiration="soon"), (400, "BadExpirationDate")),
        (request(apns_id="nope"), (400, "BadMessageId")),
        (request(apns_collapse_id="c" * 65), (400, "BadCollapseId")),
        (request(body=b""), (400, "PayloadEmpty")),
        (request("dd" * 32), (410, "Unregistered")),
    ],
)
def test_fake_answers_like_apns(
    fake: FakeApns, req: _Request, answer: tuple[int, str | None]
) -> None:
    assert fake.answer(req, peer_uid="pass.x") == answer


def test_fake_dead_ratio_is_stable_per_token(fake: FakeApns) -> None:
    fake.dead_ratio = 0.3
    try:
        sample = [f"{i:064x}" for i in range(2000)]
        dead = [t for t in sample if fake.is_dead(t)]
        assert 500 < len(dead) < 700
        assert dead == [t for t in sample if fake.is_dead(t)]
    finally:
        fake.dead_ratio = 0.0
