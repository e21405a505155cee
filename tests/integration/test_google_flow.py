"""Google Wallet wired into the service: save link, callbacks with the bonus once
across both wallets, and card changes reaching the Google object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import GoogleWallet, Services
from app.fakes.google_signer import FakeGoogle, new_key
from app.fakes.google_wallet import FakeGoogleWallet, running_fake_google
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.google.auth import AccessTokens, ServiceAccount
from app.passes.google.callbacks import CallbackVerifier
from app.passes.google.client import GoogleWalletClient
from app.passes.google.objects import object_id
from app.passes.models import WalletPass
from app.services import installs, terminals
from app.settings import GoogleSettings
from app.worker import handlers
from tests.helpers import fixed_clock
from tests.integration.test_google_client import make_account

ISSUER = "3388000000022195345"
ORIGIN = "https://wallet.example.test"


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return make_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def signer() -> FakeGoogle:
    return FakeGoogle(new_key(), new_key())


@pytest.fixture
def google(
    services: Services, account: ServiceAccount, signer: FakeGoogle, tmp_path: Any
) -> Iterator[FakeGoogleWallet]:
    with running_fake_google(ISSUER, service_account_public_key=account.public_key()) as fake:
        client = GoogleWalletClient(
            fake.api_url, AccessTokens(account, fake.token_url), rate_per_second=1000.0
        )
        settings = GoogleSettings(
            ISSUER, tmp_path / "unused.json", fake.api_url, fake.token_url, None
        )
        services.google = GoogleWallet(
            settings, account, client, CallbackVerifier(ISSUER, [signer.root_key()])
        )
        try:
            yield fake
        finally:
            services.google = None
            client.close()


def enroll(client: FlaskClient, phone: str) -> dict[str, Any]:
    body = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Gleb", "phone": phone, "consent": True, "marketing_consent": True},
    ).json
    assert body is not None
    return body


def saved_object(client: FlaskClient, links: dict[str, str]) -> dict[str, str]:
    response = client.get(links["google_save"].removeprefix(ORIGIN))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("https://pay.google.com/gp/v/save/") and len(location) < 1800
    claims = pyjwt.decode(location.rsplit("/", 1)[1], options={"verify_signature": False})
    assert claims["aud"] == "google" and claims["typ"] == "savetowallet"
    assert claims["origins"] == [ORIGIN]
    (obj,) = claims["payload"]["loyaltyObjects"]
    assert set(obj) == {"id", "classId"}  # a skinny JWT: the content (and any secret) stays out
    return dict(obj)


def callback(client: FlaskClient, signer: FakeGoogle, services: Services, **kw: Any) -> Any:
    now_ms = int(services.clock.now().timestamp() * 1000)
    body = signer.body(
        exp_time_ms=now_ms + 60_000,
        key_expiration_ms=now_ms + 3_600_000,
        class_id=f"{ISSUER}.demo",
        **kw,
    )
    return client.post("/google/callbacks", data=body, content_type="application/json")


def test_the_card_page_offers_google_and_the_link_inserts_the_object_first(
    client: FlaskClient, demo: Program, google: FakeGoogleWallet
) -> None:
    body = enroll(client, "+7 922 100-00-01")
    assert "google_save" in body["links"]
    page = client.get(body["links"]["card_page"].removeprefix(ORIGIN)).get_data(as_text=True)
    assert 'id="add-google"' in page
    obj = saved_object(client, body["links"])
    assert obj["id"] in google.objects and obj["classId"] in google.classes
    stored = google.objects[obj["id"]]
    assert stored["barcode"]["value"] == body["card"]["barcode"]
    # The logo Google shows is served by us.
    logo = google.classes[obj["classId"]]["programLogo"]["sourceUri"]["uri"]
    assert client.get(logo.removeprefix(ORIGIN)).mimetype == "image/png"


def test_a_verified_save_pays_the_install_bonus_once_across_both_wallets(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,
    signer: FakeGoogle,
) -> None:
    body = enroll(client, "+7 922 100-00-02")
    obj = saved_object(client, body["links"])
    card = session.scalars(select(Card).where(Card.number == body["card"]["number"])).one()
    installs.record_install(session, services.clock, card.id, "apple")  # the iPhone came first
    session.commit()
    saved = callback(client, signer, services, object_id=obj["id"], nonce="n-1")
    assert saved.status_code == 200 and saved.json == {"result": "saved"}
    again = callback(client, signer, services, object_id=obj["id"], nonce="n-1")
    assert again.status_code == 400 and again.json["error"]["code"] == "replayed_callback"
    session.expire_all()
    assert session.get(Card, card.id).google_installed_at is not None  # type: ignore[union-attr]
    bonuses = session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.card_id == card.id)
    )
    assert bonuses == 1


@pytest.mark.parametrize("change", ["bad_signature", "expired", "wrong_issuer"])
def test_unverified_callbacks_change_nothing(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,
    signer: FakeGoogle,
    change: str,
) -> None:
    body = enroll(client, "+7 922 100-00-03")
    obj = saved_object(client, body["links"])
    now_ms = int(services.clock.now().timestamp() * 1000)
    kwargs: dict[str, Any] = {"object_id": obj["id"], "nonce": f"n-{change}"}
    if change == "bad_signature":
        kwargs["signer"] = new_key()
    elif change == "expired":
        kwargs["exp_time_ms"] = now_ms - 1
    else:
        kwargs["recipient"] = "999"
    raw = signer.body(
        **{"exp_time_ms": now_ms + 60_000, "key_expiration_ms": now_ms + 3_600_000, **kwargs}
    )
    response = client.post("/google/callbacks", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_callback"
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_purchase_reaches_the_google_object(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,
    signer: FakeGoogle,
) -> None:
    body = enroll(client, "+7 922 100-00-04")
    obj = saved_object(client, body["links"])
    callback(client, signer, services, object_id=obj["id"], nonce="n-buy")
    _, key = terminals.add_terminal(session, services.clock, demo, "G-till")
    session.commit()
    sale = client.post(
        "/api/pos/v1/purchases",
        headers={"Authorization": f"Bearer {key}"},
        json={"receipt_id": "g1", "amount": 100_000, "barcode": body["card"]["barcode"]},
    )
    assert sale.status_code == 201
    pass_id = session.scalar(
        select(WalletPass.id).join(Card).where(Card.number == body["card"]["number"])
    )
    assert pass_id is not None
    assert handlers.deliver_google(services, [pass_id]) == 1
    stored = google.objects[object_id(ISSUER, session.get(WalletPass, pass_id).serial_number)]  # type: ignore[union-attr]
    assert stored["loyaltyPoints"]["balance"]["int"] == sale.json["balance"]
    assert handlers.deliver_google(services, [pass_id]) == 0  # nothing owed any more


def test_campaign_texts_notify_three_times_a_day_then_go_in_silently(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,
    signer: FakeGoogle,
) -> None:
    from app.services import campaigns

    body = enroll(client, "+7 922 100-00-05")
    obj = saved_object(client, body["links"])
    callback(client, signer, services, object_id=obj["id"], nonce="n-msg")
    demo.frequency_cap_days = 0  # let four campaigns through today
    session.commit()
    for i in range(4):
        campaign = campaigns.create(
            session,
            services.clock,
            demo,
            campaigns.Draft(
                name=f"Offer {i}",
                offer_en=f"Offer {i}",
                offer_ru=f"Предложение {i}",
                segment={},
                holdout_percent=0,
            ),
            "test",
        )
        session.commit()
        handlers.run_campaign(services, campaign.id)
        fixed_clock(services).advance(minutes=1)
    pass_id = session.scalar(
        select(WalletPass.id).join(Card).where(Card.number == body["card"]["number"])
    )
    assert pass_id is not None
    handlers.deliver_google(services, [pass_id])
    messages = google.objects[obj["id"]]["messages"]
    assert [m["messageType"] for m in messages] == ["TEXT_AND_NOTIFY"] * 3 + ["TEXT"]
    assert messages[0]["localizedBody"]["defaultValue"]["value"] == "Предложение 0"
    assert handlers.send_google_messages(services, [pass_id]) == 0  # all sent, once


def test_rotating_barcodes_are_created_over_rest_never_in_the_link(
    client: FlaskClient, session: Session, demo: Program, google: FakeGoogleWallet
) -> None:
    demo.rotating_barcode = True
    session.commit()
    body = enroll(client, "+7 922 100-00-06")
    stored = google.objects[saved_object(client, body["links"])["id"]]
    card = session.scalars(select(Card).where(Card.number == body["card"]["number"])).one()
    assert card.totp_secret is not None
    key = stored["rotatingBarcode"]["totpDetails"]["parameters"][0]["key"]
    assert key.lower() == card.totp_secret.lower() and "barcode" not in stored


def test_a_new_program_colour_reaches_the_google_class(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,
) -> None:
    body = enroll(client, "+7 922 100-00-07")
    class_id = saved_object(client, body["links"])["classId"]
    demo.background_color = "#0B6E4F"
    session.commit()
    handlers.sync_google_class(services, demo.id)
    assert google.classes[class_id]["hexBackgroundColor"].lower() == "#0b6e4f"
