"""The Google Wallet client and token source against the fake Google on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.fakes.google_wallet import FakeGoogleWallet, running_fake_google
from app.fakes.walletobjects_schema import SchemaUnavailable
from app.passes.content import CardContent, Colors, Field
from app.passes.google.auth import AccessTokens, ServiceAccount, TokenError
from app.passes.google.client import GoogleWalletClient, GoogleWalletError, NotificationQuotaError
from app.passes.google.objects import ProgramLook, loyalty_class, loyalty_object, message
from tests.google_schema import validate

ISSUER = "3388000000022195345"
DAY = 86_400.0


def make_account(key: rsa.RSAPrivateKey) -> ServiceAccount:
    email = "wp@walletpass-test.iam.gserviceaccount.com"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ServiceAccount.from_info(
        {"client_email": email, "private_key": pem, "private_key_id": "k1"}
    )


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return make_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(account: ServiceAccount, fake_clock: Clock) -> Iterator[FakeGoogleWallet]:
    with running_fake_google(
        ISSUER, service_account_public_key=account.public_key(), clock=fake_clock
    ) as running:
        yield running


@pytest.fixture
def tokens(account: ServiceAccount, fake: FakeGoogleWallet) -> AccessTokens:
    return AccessTokens(account, fake.token_url)


@pytest.fixture
def client(fake: FakeGoogleWallet, tokens: AccessTokens) -> Iterator[GoogleWalletClient]:
    with GoogleWalletClient(
        fake.api_url, tokens, rate_per_second=1000.0, backoff_base=0.01
    ) as wallet:
        yield wallet


def program(**overrides: Any) -> ProgramLook:
    look = ProgramLook(
        program_slug="little-steps",
        issuer_name="Маленькие шаги",
        program_name="Клуб «Маленькие шаги»",
        logo_url="https://wallet.example.test/logo.png",
        hero_image_url=None,
        background_color="#1F4E79",
        callback_url="https://wallet.example.test/google/callback",
        locations=((55.75, 37.61),),
        locale="ru",
    )
    return ProgramLook(**{**look.__dict__, **overrides})


def card(serial: str = "Zq3xV8kP2mN5rT7wY9aB1c", balance: int = 100) -> CardContent:
    def both(en: str, ru: str) -> dict[str, str]:
        return {"en": en, "ru": ru}

    return CardContent(
        template="little-steps",
        serial_number=serial,
        auth_token="t" * 32,
        locale="ru",
        organization_name="Маленькие шаги",
        description=both("Card", "Карта"),
        colors=Colors("#1F4E79", "#FFFFFF", "#DDEEFF"),
        barcode="4000123456789010-K7QX2M9T",
        barcode_alt_text="4000 1234 5678 9010",
        fields=(
            Field("balance", "primary", both("Points", "Баллы"), balance, is_number=True),
            Field("member", "secondary", both("Member", "Участник"), both("Anna", "Anna")),
            Field("tier", "secondary", both("Level", "Уровень"), both("Gold", "Золотой")),
            Field("number", "auxiliary", both("No", "№"), both("4000 1234", "4000 1234")),
        ),
    )


def setup_card(client: GoogleWalletClient, balance: int = 100) -> dict[str, Any]:
    client.insert_class(loyalty_class(ISSUER, program()))
    return client.insert_object(loyalty_object(ISSUER, "little-steps", card(balance=balance)))


def test_class_and_object_insert_get_patch(
    client: GoogleWalletClient, fake: FakeGoogleWallet
) -> None:
    cls = loyalty_class(ISSUER, program())
    assert client.insert_class(cls) == cls
    assert client.get_class(cls["id"]) == cls
    patched = client.patch_class(cls["id"], {"programName": "Клуб", "reviewStatus": "UNDER_REVIEW"})
    assert patched["programName"] == "Клуб" and patched["issuerName"] == "Маленькие шаги"

    obj = loyalty_object(ISSUER, "little-steps", card())
    assert client.insert_object(obj) == obj
    assert client.get_object(obj["id"]) == obj
    update = loyalty_object(ISSUER, "little-steps", card(balance=250))
    update["textModulesData"] = []
    after = client.patch_object(obj["id"], update)
    assert after["loyaltyPoints"]["balance"] == {"int": 250}
    assert after["textModulesData"] == []  # arrays are replaced whole
    assert fake.objects[obj["id"]] == after
    assert [(r.method, r.path, r.status) for r in fake.api_requests()] == [
        ("POST", "/walletobjects/v1/loyaltyClass", 200),
        ("GET", f"/walletobjects/v1/loyaltyClass/{cls['id']}", 200),
        ("PATCH", f"/walletobjects/v1/loyaltyClass/{cls['id']}", 200),
        ("POST", "/walletobjects/v1/loyaltyObject", 200),
        ("GET", f"/walletobjects/v1/loyaltyObject/{obj['id']}", 200),
        ("PATCH", f"/walletobjects/v1/loyaltyObject/{obj['id']}", 200),
    ]
    for recorded in fake.api_requests():  # what we sent is what Google's schema knows
        if recorded.body is not None:
            schema = "LoyaltyClass" if "loyaltyClass" in recorded.path else "LoyaltyObject"
            validate(schema, recorded.body)


def test_patch_with_notify_sets_the_objects_notify_preference(
    client: GoogleWalletClient, fake: FakeGoogleWallet
) -> None:
    obj = setup_card(client)
    client.patch_object(obj["id"], {"loyaltyPoints": loyalty_object(
        ISSUER, "little-steps", card(balance=300))["loyaltyPoints"]}, notify=True)  # fmt: skip
    sent = fake.api_requests()[-1].body
    assert sent["notifyPreference"] == "NOTIFY_ON_UPDATE"  # top level of the LoyaltyObject
    assert [(n.object_id, n.kind, n.detail) for n in fake.notifications] == [
        (obj["id"], "field_update", ["loyaltyPoints"])
    ]
    assert "notifyPreference" not in fake.objects[obj["id"]]  # ephemeral, per request
    client.patch_object(obj["id"], {"accountName": "Anna P."})
    assert len(fake.notifications) == 1
    upserted = client.upsert_object(loyalty_object(ISSUER, "little-steps", card(balance=5)))
    assert upserted["loyaltyPoints"]["balance"] == {"int": 5}
    assert [r.method for r in fake.api_requests()[-2:]] == ["POST", "PATCH"]
    assert fake.api_requests()[-2].status == 409


def test_add_message_within_the_budget_then_quota_error(
    client: GoogleWalletClient, fake: FakeGoogleWallet, fake_clock: Clock
) -> None:
    obj = setup_card(client)
    text = {"en": "Double points today", "ru": "Сегодня двойные баллы"}
    head = {"en": "News", "ru": "Новости"}
    for i in range(3):
        answer = client.add_message(
            obj["id"], message(f"m{i}", head, text, language="ru", notify=True)
        )
        assert len(answer["resource"]["messages"]) == i + 1
    before = len(fake.api_requests())
    with pytest.raises(NotificationQuotaError) as caught:
        client.add_message(obj["id"], message("m3", head, text, language="ru", notify=True))
    assert (caught.value.status, caught.value.reason) == (403, "quotaExceeded")
    assert len(fake.api_requests()) == before + 1  # not retried
    quiet = client.add_message(obj["id"], message("m4", head, text, language="ru"))
    assert [m["id"] for m in quiet["resource"]["messages"]] == ["m0", "m1", "m2", "m4"]
    assert [n.kind for n in fake.notifications] == ["message"] * 3
    validate("AddMessageRequest", fake.api_requests()[-1].body)

    fake_clock.now += DAY - 60  # the first notifications are still within 24 hours
    with pytest.raises(NotificationQuotaError):
        client.add_message(obj["id"], message("m5", head, text, language="ru", notify=True))
    fake_clock.now += 120  # rolling window: all three are now older than 24 hours
    client.add_message(obj["id"], message("m6", head, text, language="ru", notify=True))
    assert len(fake.notifications) == 4


def test_429_and_5xx_are_retried_with_backoff(
    client: GoogleWalletClient, fake: FakeGoogleWallet, tokens: AccessTokens
) -> None:
    fake.fail_next(2, 429)
    cls = client.insert_class(loyalty_class(ISSUER, program()))
    statuses = [r.status for r in fake.api_requests()]
    assert statuses == [429, 429, 200]
    fake.fail_next(1, 503, retry_after=0.05)
    started = time.monotonic()
    assert client.get_class(cls["id"])["id"] == cls["id"]
    assert time.monotonic() - started >= 0.05
    fake.fail_next(10, 500)
    limited = GoogleWalletClient(fake.api_url, tokens, max_attempts=3, backoff_base=0.01)
    with limited, pytest.raises(GoogleWalletError) as caught:
        limited.get_class(cls["id"])
    assert caught.value.status == 500 and caught.value.retryable
    assert [r.status for r in fake.api_requests()[-3:]] == [500, 500, 500]
    assert len(fake.api_requests()) == 3 + 2 + 3


def test_401_refreshes_the_token_once(
    client: GoogleWalletClient, fake: FakeGoogleWallet, tokens: AccessTokens
) -> None:
    setup_card(client)
    assert tokens.fetches == 1
    fake.expire_tokens()
    assert client.get_class(f"{ISSUER}.little-steps")["id"] == f"{ISSUER}.little-steps"
    assert tokens.fetches == 2
    assert [r.status for r in fake.api_requests()[-2:]] == [401, 200]
    fake.fail_next(2, 401)  # still refused with a fresh token: give up
    with pytest.raises(GoogleWalletError) as caught:
        client.get_class(f"{ISSUER}.little-steps")
    assert caught.value.status == 401 and not caught.value.retryable
    assert tokens.fetches == 3


def test_tokens_are_cached_until_a_minute_before_expiry(
    account: ServiceAccount, fake: FakeGoogleWallet
) -> None:
    now = [time.time()]
    tokens = AccessTokens(account, fake.token_url, clock=lambda: now[0])
    first = tokens.get()
    now[0] += 3600 - 61
    assert tokens.get() == first
    now[0] += 2
    assert tokens.get() != first
    assert tokens.fetches == 2
    token_requests = [r for r in fake.requests if r.path == "/token"]
    assert token_requests[0].body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_a_key_google_does_not_know_is_refused(fake: FakeGoogleWallet) -> None:
    stranger = make_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    tokens = AccessTokens(stranger, fake.token_url)
    with pytest.raises(TokenError) as caught:
        tokens.get()
    assert caught.value.status == 400 and not caught.value.retryable
    assert "invalid_grant" in caught.value.message
    client = GoogleWalletClient(fake.api_url, tokens)
    with client, pytest.raises(GoogleWalletError) as wrapped:
        client.get_class(f"{ISSUER}.x")
    assert (wrapped.value.status, wrapped.value.reason) == (400, "tokenError")
    assert fake.api_requests() == []


def test_rate_limit_is_respected(fake: FakeGoogleWallet, tokens: AccessTokens) -> None:
    with GoogleWalletClient(fake.api_url, tokens, rate_per_second=100.0) as client:
        client.insert_class(loyalty_class(ISSUER, program()))
        started = time.monotonic()
        for _ in range(30):
            client.get_class(f"{ISSUER}.little-steps")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.29
    assert fake.connections_opened == 2  # the token request, then one kept-alive connection


def test_threads_share_one_client_and_one_token(
    client: GoogleWalletClient, fake: FakeGoogleWallet, tokens: AccessTokens
) -> None:
    setup_card(client)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                client.get_object(f"{ISSUER}.Zq3xV8kP2mN5rT7wY9aB1c")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert tokens.fetches == 1
    assert len(fake.api_requests()) == 2 + 80
    assert fake.connections_opened <= 1 + 8  # the token request, a pool of at most 8


def test_a_kept_alive_connection_closed_by_google_is_replaced(
    client: GoogleWalletClient, fake: FakeGoogleWallet
) -> None:
    setup_card(client)
    opened = fake.connections_opened
    fake.drop_connections()
    time.sleep(0.05)  # the handler threads see the close and end
    for _ in range(3):
        assert client.get_class(f"{ISSUER}.little-steps")["id"] == f"{ISSUER}.little-steps"
    assert fake.connections_opened == opened + 1
    assert [r.status for r in fake.api_requests()] == [200] * 5  # no retries, no failures


def test_the_fake_validates_every_body(client: GoogleWalletClient, fake: FakeGoogleWallet) -> None:
    client.insert_class(loyalty_class(ISSUER, program()))
    obj = loyalty_object(ISSUER, "little-steps", card())
    obj["acountName"] = obj.pop("accountName")
    with pytest.raises(GoogleWalletError) as caught:
        client.insert_object(obj)
    assert (caught.value.status, caught.value.reason) == (400, "invalid")
    assert "acountName" in caught.value.message
    assert len(fake.api_requests()) == 2  # a 400 is not retried
    with pytest.raises(GoogleWalletError, match="headr"):
        client.patch_class(f"{ISSUER}.little-steps", {"textModulesData": [{"headr": "x"}]})
    with pytest.raises(GoogleWalletError, match="messageType"):
        client.add_message(obj["id"], {"header": "x", "messageType": "LOUD"})
    assert fake.objects == {}


def test_the_fake_answers_like_google(client: GoogleWalletClient, fake: FakeGoogleWallet) -> None:
    with pytest.raises(GoogleWalletError) as missing:
        client.get_object(f"{ISSUER}.nothing")
    assert (missing.value.status, missing.value.reason) == (404, "resourceNotFound")
    foreign = loyalty_class("999", program())
    with pytest.raises(GoogleWalletError, match="is not") as caught:
        client.insert_class(foreign)
    assert caught.value.status == 400
    with pytest.raises(GoogleWalletError) as orphan:
        client.insert_object(loyalty_object(ISSUER, "little-steps", card()))
    assert orphan.value.status == 404
    setup_card(client)
    with pytest.raises(GoogleWalletError) as duplicate:
        client.insert_class(loyalty_class(ISSUER, program()))
    assert (duplicate.value.status, duplicate.value.reason) == (409, "duplicate")


def test_unreachable_google_is_a_retryable_error(tokens: AccessTokens) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GoogleWalletClient(
        f"http://127.0.0.1:{port}/walletobjects/v1", tokens, max_attempts=2, backoff_base=0.01
    )
    with client, pytest.raises(GoogleWalletError) as caught:
        client.get_class(f"{ISSUER}.x")
    assert (caught.value.status, caught.value.reason) == (0, "connectionError")
    assert caught.value.retryable


def test_the_fake_needs_the_discovery_document(account: ServiceAccount, tmp_path: Path) -> None:
    fake = FakeGoogleWallet(
        ISSUER,
        service_account_public_key=account.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        schema_path=tmp_path / "walletobjects.v1.json",
    )
    with pytest.raises(SchemaUnavailable, match="discovery document is missing"):
        fake.start()
