"""Android wallet apps that read .pkpass files speak the PassKit web service with their
own schemes, headers and (PassWallet) route: each gets a live card and is recorded."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.models import LedgerEntry, Program
from app.passes.models import AppleDevice
from app.push.relay_urls import RelayUrlError, check_push_service_url
from tests.helpers import Pkpass
from tests.web.test_passkit_device import WalletDevice, balance_of, enroll

# (app recorded, scheme, extra headers) as each app sends them (docs/android-wallets.md).
APPS = [
    ("apple_wallet", "ApplePass", {"User-Agent": "PassKit/1.0 CFNetwork/1410 Darwin/22.6.0"}),
    ("walletpasses", "AndroidPass", {"User-Agent": "WalletPasses/2.9.1 (Android 14)"}),
    ("pass2u", "ApplePass", {"X-Pass-Client": "Passes", "User-Agent": "okhttp/4.12"}),
    ("passworks", "ApplePass", {"X-Pass-Client": "Passworks"}),
    ("walletunion", "WalletUnionPass", {"User-Agent": "WalletUnion/1.0"}),
    ("walletunion_hms", "WalletUnionHMSPass", {"User-Agent": "WalletUnionHMS/1.0"}),
    ("passhub", "TelegramPass", {"User-Agent": "PassHubTelegram/1.0"}),
    ("unknown", "ApplePass", {"User-Agent": "SomeWallet/3.1 (Linux; Android 13)"}),
]


@pytest.mark.parametrize(("wallet_app", "scheme", "headers"), APPS, ids=[a[0] for a in APPS])
def test_each_wallet_app_registers_fetches_and_is_recorded(
    client: FlaskClient, session: Session, demo: Program, wallet_app: str, scheme: str,
    headers: dict[str, str],
) -> None:  # fmt: skip
    phone = WalletDevice(
        client, f"dev-{wallet_app.replace('_', '-')}-0001", scheme=scheme, headers=headers
    )
    serial = str(phone.add_pass(enroll(client, "+7 921 100-00-01")["apple_pass"])["serialNumber"])
    assert phone.register(serial) == 201
    assert phone.register(serial) == 200
    assert phone.what_changed()[1] == [serial]
    status, last_modified, body = phone.fetch(serial)
    assert status == 200
    assert balance_of(Pkpass.read(body).pass_json) == 2000  # the install bonus, once
    assert phone.fetch(serial, since=last_modified)[0] == 304
    device = session.scalars(
        select(AppleDevice).where(AppleDevice.library_id == phone.library_id)
    ).one()
    assert device.wallet_app == wallet_app
    assert phone.unregister(serial) == 200


def test_the_install_bonus_is_paid_once_across_apps(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    links = enroll(client, "+7 921 100-00-02")
    iphone = WalletDevice(client, "iphone-000000001")
    android = WalletDevice(client, "android-00000001", scheme="AndroidPass")
    huawei = WalletDevice(client, "huawei-000000001", scheme="WalletUnionHMSPass")
    serial = ""
    for phone in (iphone, android, huawei):
        serial = str(phone.add_pass(links["apple_pass"])["serialNumber"])
        assert phone.register(serial) == 201
    bonuses = session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "bonus")
    )
    assert bonuses == 1


def test_passwallet_registers_on_its_own_route_and_keeps_its_relay(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    phone = WalletDevice(
        client,
        "passwallet-0000001",
        push_token="fcm:APA91bH-token_1",
        scheme="AttidoPass",
        route="registrations_attido",
        push_service_url="http://127.0.0.1:8765/",  # a fake relay: fine outside production
    )
    serial = str(phone.add_pass(enroll(client, "+7 921 100-00-03")["apple_pass"])["serialNumber"])
    assert phone.register(serial) == 201
    device = session.scalars(
        select(AppleDevice).where(AppleDevice.library_id == phone.library_id)
    ).one()
    assert (device.wallet_app, device.push_service_url) == (
        "passwallet",
        "http://127.0.0.1:8765",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pushToken": "tok"}, "pushServiceUrl is missing"),
        ({"pushToken": "tok", "pushServiceUrl": 7}, "pushServiceUrl is missing"),
        ({"pushToken": "tok", "pushServiceUrl": "ftp://relay.example.test"}, "must use"),
        ({"pushToken": "tok", "pushServiceUrl": "https://u:p@relay.test"}, "no credentials"),
    ],
)
def test_passwallet_bad_relay_urls_get_400_and_register_nothing(
    client: FlaskClient, session: Session, demo: Program, body: dict[str, object], message: str
) -> None:
    phone = WalletDevice(client, "passwallet-0000002", scheme="AttidoPass")
    serial = str(phone.add_pass(enroll(client, "+7 921 100-00-04")["apple_pass"])["serialNumber"])
    response = client.post(
        f"/passkit/v1/devices/{phone.library_id}/registrations_attido/"
        f"pass.test.walletpass.loyalty/{serial}",
        json=body,
        headers=phone._auth(serial),
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AppleDevice)) == 0


def test_other_schemes_are_refused(client: FlaskClient, demo: Program) -> None:
    for scheme in ("Bearer", "Basic", "applepass", "PassWalletPass"):
        phone = WalletDevice(client, "some-device-00001", scheme=scheme)
        serial = str(
            phone.add_pass(enroll(client, f"+7 921 100-01-{len(scheme):02d}")["apple_pass"])[
                "serialNumber"
            ]
        )
        assert phone.register(serial) == 401


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://relay.example.com", "must use https"),
        ("https://127.0.0.1/push", "loopback"),
        ("https://[::1]/push", "loopback"),
        ("https://localhost/push", "public host"),
        ("https://10.1.2.3", "private"),
        ("https://172.16.0.9", "private"),
        ("https://192.168.1.20", "private"),
        ("https://[fd00::1]", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[fe80::1]", "link-local"),
        ("https://[::ffff:10.0.0.1]", "private"),
        ("https://0.0.0.0", "unspecified"),
        ("https://224.0.0.1", "multicast"),
        ("https://relay.example.com?x=1", "query"),
    ],
)
def test_production_refuses_each_private_address_class(url: str, why: str) -> None:
    with pytest.raises(RelayUrlError, match=why):
        check_push_service_url(url, production=True, resolve=False)


def test_production_accepts_a_public_https_relay() -> None:
    assert (
        check_push_service_url("https://8.8.8.8/passwallet/", production=True)
        == "https://8.8.8.8/passwallet"
    )
    assert check_push_service_url("http://127.0.0.1:9/", production=False) == "http://127.0.0.1:9"
