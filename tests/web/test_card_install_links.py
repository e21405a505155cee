"""The card page offers the install links that fit the shopper's device, and always
keeps the web card with its till QR."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from app.bootstrap import GoogleWallet, Services
from app.fakes.google_signer import FakeGoogle, new_key
from app.fakes.google_wallet import running_fake_google
from app.loyalty import rules
from app.loyalty.models import Program
from app.passes.google.auth import AccessTokens
from app.passes.google.callbacks import CallbackVerifier
from app.passes.google.client import GoogleWalletClient
from app.settings import GoogleSettings
from tests.integration.test_google_client import make_account

ORIGIN = "https://wallet.example.test"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36"
)
HUAWEI = (
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.300 "
    "Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36"
)
STORES = ("play.google.com", "appgallery", "walletunion.com")


@pytest.fixture
def card_path(client: FlaskClient, demo: Program) -> str:
    body = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Ольга", "phone": "+7 900 111-22-33", "consent": True},
    ).json
    assert body is not None
    path: str = body["links"]["card_page"].removeprefix(ORIGIN)
    return path


@pytest.fixture
def google(services: Services, tmp_path: Path) -> Iterator[None]:
    """Google Wallet configured, against the fake Google over loopback."""
    issuer = "3388000000022195345"
    account = make_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with running_fake_google(issuer, service_account_public_key=account.public_key()) as fake:
        client = GoogleWalletClient(
            fake.api_url, AccessTokens(account, fake.token_url), rate_per_second=1000.0
        )
        settings = GoogleSettings(
            issuer, tmp_path / "unused.json", fake.api_url, fake.token_url, None
        )
        signer = FakeGoogle(new_key(), new_key())
        services.google = GoogleWallet(
            settings, account, client, CallbackVerifier(issuer, [signer.root_key()])
        )
        try:
            yield
        finally:
            services.google = None
            client.close()


def page(client: FlaskClient, path: str, agent: str, lang: str = "en") -> str:
    response = client.get(path, headers={"User-Agent": agent, "Accept-Language": lang})
    assert response.status_code == 200
    assert "User-Agent" in response.headers["Vary"]
    return response.get_data(as_text=True)


def wallet_section(html: str) -> str:
    match = re.search(r'<section class="wallets".*?</section>', html, re.S)
    assert match, "the page has no wallet section"
    return match.group(0)


def link_ids(html: str) -> list[str]:
    """The ids of the wallet links in the order the page shows them."""
    return re.findall(r'<a class="wallet-button[^"]*" id="([^"]+)"', wallet_section(html))


def store_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-app="([^"]+)" href="([^"]+)"', html)


def assert_till_fallback(client: FlaskClient, path: str, html: str) -> None:
    """The web card: its till QR (the card's barcode) and number, on every variant."""
    assert f'<img src="{path}/qr.png"' in html
    qr = client.get(f"{path}/qr.png")
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)).convert("RGB"))
    number, _secret = rules.parse_barcode(code.text)
    assert rules.format_card_number(number) in html


def test_an_iphone_gets_apple_wallet_first_and_no_android_links(
    client: FlaskClient, card_path: str, google: None
) -> None:
    html = page(client, card_path, IPHONE)
    assert link_ids(html) == ["add-apple"]  # Google Wallet has no iPhone app
    assert f'href="{card_path}/apple.pkpass"' in wallet_section(html)
    assert "Add to Apple Wallet" in html
    assert store_links(html) == []
    assert not any(store in html for store in STORES)
    assert 'id="phone-qr"' not in html
    assert_till_fallback(client, card_path, html)


def test_an_android_phone_gets_the_pkpass_apps_in_the_programs_order(
    client: FlaskClient, card_path: str
) -> None:
    html = page(client, card_path, ANDROID)
    assert link_ids(html) == ["open-pkpass"]  # no Google Wallet: it is not configured
    assert "Add to Apple Wallet" not in html
    assert f'href="{card_path}/apple.pkpass"' in wallet_section(html)
    links = store_links(html)
    assert [app for app, _ in links] == ["walletunion", "walletpasses", "passwallet", "pass2u"]
    assert dict(links)["passwallet"] == (
        "https://play.google.com/store/apps/details?id=com.attidomobile.passwallet"
    )
    assert dict(links)["walletunion"].startswith("https://play.google.com/store/search?")
    card_id = card_path.rsplit("/", 1)[1]
    assert all(card_id not in href and "wallet.example.test" not in href for _, href in links)
    assert 'id="phone-qr"' not in html
    # The link opens the pass file that the apps import.
    pkpass = client.get(f"{card_path}/apple.pkpass", headers={"User-Agent": ANDROID})
    assert pkpass.status_code == 200 and pkpass.mimetype == "application/vnd.apple.pkpass"
    assert_till_fallback(client, card_path, html)


def test_the_android_page_speaks_russian(client: FlaskClient, card_path: str) -> None:
    html = page(client, card_path, ANDROID, lang="ru")
    assert "Открыть в приложении-кошельке" in html
    assert "Установить WalletUnion" in html and "Установить PassWallet" in html
    assert "Нет приложения-кошелька?" in html
    assert "Покажите этот код на кассе." in html


def test_android_gets_the_google_button_first_when_google_is_configured(
    client: FlaskClient, card_path: str, google: None
) -> None:
    html = page(client, card_path, ANDROID)
    assert link_ids(html) == ["add-google", "open-pkpass"]
    assert store_links(html)[0][0] == "walletunion"
    saved = client.get(f"{card_path}/google", headers={"User-Agent": ANDROID})
    assert saved.status_code == 303
    assert saved.headers["Location"].startswith("https://pay.google.com/gp/v/save/")


def test_a_huawei_phone_without_google_services_gets_walletunion_hms_first(
    client: FlaskClient, card_path: str, google: None
) -> None:
    html = page(client, card_path, HUAWEI)
    links = store_links(html)
    assert links[0] == ("walletunion_hms", "https://walletunion.com/")
    assert "AppGallery (walletunion.com)" in html
    assert [app for app, _ in links[1:]] == ["walletunion", "walletpasses", "passwallet", "pass2u"]
    # The .pkpass link leads; Google Wallet, which needs Google services, comes last.
    assert link_ids(html) == ["open-pkpass", "add-google"]
    assert_till_fallback(client, card_path, html)


def test_a_computer_shows_a_qr_that_opens_the_card_page_on_the_phone(
    client: FlaskClient, card_path: str
) -> None:
    html = page(client, card_path, DESKTOP)
    match = re.search(
        r'<figure class="phone-qr" id="phone-qr">.*?Open on your phone.*?'
        r'<img src="data:image/png;base64,([^"]+)"',
        html,
        re.S,
    )
    assert match, "no labelled phone QR on the desktop page"
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("RGB")
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [ORIGIN + card_path]
    assert store_links(html) == [] and "Add to Apple Wallet" not in html
    assert_till_fallback(client, card_path, html)
    ru = page(client, card_path, DESKTOP, lang="ru")
    assert "Откройте на телефоне" in ru


def test_the_shopper_can_pick_another_device_when_the_guess_is_wrong(
    client: FlaskClient, card_path: str
) -> None:
    html = page(client, card_path, DESKTOP)
    assert f'href="{card_path}?device=android"' in html
    chosen = page(client, f"{card_path}?device=android", DESKTOP)
    assert store_links(chosen)[0][0] == "walletunion"
    assert 'id="phone-qr"' not in chosen
    ignored = page(client, f"{card_path}?device=toaster", IPHONE)
    assert link_ids(ignored) == ["add-apple"]


def test_the_programs_own_order_is_followed(
    client: FlaskClient, card_path: str, session: Session, demo: Program
) -> None:
    demo.android_wallet_apps = ["pass2u", "walletunion_hms", "passwallet"]
    session.commit()
    assert [a for a, _ in store_links(page(client, card_path, ANDROID))] == ["pass2u", "passwallet"]
    assert [a for a, _ in store_links(page(client, card_path, HUAWEI))] == [
        "walletunion_hms",
        "pass2u",
        "passwallet",
    ]
