"""A test-side Wallet device drives the PassKit web service the way an iPhone does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.http import http_date, parse_date

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.passes.sync import mark_changed
from tests.helpers import PASS_TYPE_ID, Pkpass, fixed_clock

ORIGIN = "https://wallet.example.test"


@dataclass
class WalletDevice:
    """Holds what a phone holds: passes, their tokens, its push token and lastUpdated tag."""

    client: FlaskClient
    library_id: str
    push_token: str = "ab12" * 16
    tag: str | None = None
    passes: dict[str, dict[str, object]] = field(default_factory=dict)
    # How the wallet app speaks: Apple Wallet by default, an Android app otherwise.
    scheme: str = "ApplePass"
    headers: dict[str, str] = field(default_factory=dict)
    route: str = "registrations"  # PassWallet: "registrations_attido"
    push_service_url: str | None = None

    def add_pass(self, pkpass_url: str) -> dict[str, object]:
        response = self.client.get(pkpass_url.removeprefix(ORIGIN))
        assert response.status_code == 200
        data = Pkpass.read(response.data).pass_json
        self.passes[str(data["serialNumber"])] = data
        return data

    def _base(self, serial: str) -> str:
        url = str(self.passes[serial]["webServiceURL"])
        assert url == f"{ORIGIN}/passkit"
        return url.removeprefix(ORIGIN) + "/v1"

    def _auth(self, serial: str, token: str | None = None) -> dict[str, str]:
        secret = token or self.passes[serial]["authenticationToken"]
        return {**self.headers, "Authorization": f"{self.scheme} {secret}"}

    def register(self, serial: str, token: str | None = None) -> int:
        body: dict[str, str] = {"pushToken": self.push_token}
        if self.push_service_url is not None:
            body["pushServiceUrl"] = self.push_service_url
        return self.client.post(
            f"{self._base(serial)}/devices/{self.library_id}/{self.route}/{PASS_TYPE_ID}/{serial}",
            json=body,
            headers=self._auth(serial, token),
        ).status_code

    def unregister(self, serial: str) -> int:
        return self.client.delete(
            f"{self._base(serial)}/devices/{self.library_id}/registrations/{PASS_TYPE_ID}/{serial}",
            headers=self._auth(serial),
        ).status_code

    def what_changed(self) -> tuple[int, list[str]]:
        query = {"passesUpdatedSince": self.tag} if self.tag else {}
        response = self.client.get(
            f"/passkit/v1/devices/{self.library_id}/registrations/{PASS_TYPE_ID}",
            query_string=query,
        )
        if response.status_code == 204:
            return 204, []
        body = response.json
        assert body is not None and isinstance(body["lastUpdated"], str)
        assert body["lastUpdated"] != self.tag, "lastUpdated must change when serials are listed"
        self.tag = body["lastUpdated"]
        return response.status_code, body["serialNumbers"]

    def fetch(self, serial: str, since: str | None = None) -> tuple[int, str | None, bytes]:
        headers = self._auth(serial)
        if since:
            headers["If-Modified-Since"] = since
        response = self.client.get(f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}", headers=headers)
        return response.status_code, response.headers.get("Last-Modified"), response.data


def enroll(client: FlaskClient, phone: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Ольга", "phone": phone, "consent": True},
    )
    assert response.status_code == 201
    links: dict[str, str] = response.json["links"]  # type: ignore[index]
    return links


def balance_of(data: dict[str, object]) -> object:
    card = data["storeCard"]
    assert isinstance(card, dict)
    return next(f["value"] for f in card["primaryFields"] if f["key"] == "balance")


def test_the_whole_wallet_conversation(client: FlaskClient, demo: Program) -> None:
    phone = WalletDevice(client, "d3v1ce0000000000000000000000000a")
    links = enroll(client, "+7 921 000-00-01")
    card_page = links["card_page"].removeprefix(ORIGIN)
    assert 'id="install-bonus"' in client.get(card_page).get_data(as_text=True)
    data = phone.add_pass(links["apple_pass"])
    serial = str(data["serialNumber"])
    assert balance_of(data) == 0

    assert phone.register(serial) == 201
    assert phone.register(serial) == 200
    assert phone.register(serial, token="wrong-token-0123456789") == 401

    status, serials = phone.what_changed()
    assert (status, serials) == (200, [serial])
    assert phone.what_changed() == (204, [])

    status, last_modified, body = phone.fetch(serial)
    assert status == 200 and last_modified is not None
    assert parse_date(last_modified) is not None  # an HTTP-date, not a timestamp
    assert balance_of(Pkpass.read(body).pass_json) == 2000  # the install bonus
    page = client.get(card_page).get_data(as_text=True)
    assert 'id="install-bonus"' not in page and "2\u00a0000" in page
    assert phone.fetch(serial, since=last_modified)[0] == 304

    assert phone.unregister(serial) == 200
    log = client.post("/passkit/v1/log", json={"logs": ["Get pass task encountered error"]})
    assert log.status_code == 200


def test_wrong_tokens_unknown_serials_and_pass_types_get_401(
    client: FlaskClient, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce0000000000000000000000000b")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-00-02")["apple_pass"])["serialNumber"])
    base = f"/passkit/v1/devices/{phone.library_id}/registrations"
    auth = phone._auth(serial)
    cases = [
        client.post(f"{base}/{PASS_TYPE_ID}/{serial}", json={"pushToken": "aa"}),
        client.post(
            f"{base}/{PASS_TYPE_ID}/{serial}",
            json={"pushToken": "aa"},
            headers={"Authorization": "Bearer " + str(auth["Authorization"]).split()[1]},
        ),
        client.post(f"{base}/{PASS_TYPE_ID}/nope", json={"pushToken": "aa"}, headers=auth),
        client.post(f"{base}/pass.other.type/{serial}", json={"pushToken": "aa"}, headers=auth),
        client.delete(f"{base}/{PASS_TYPE_ID}/{serial}", headers={"Authorization": "ApplePass x"}),
        client.get(f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}"),
        client.get(f"/passkit/v1/passes/pass.other.type/{serial}", headers=auth),
    ]
    for response in cases:
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{broken", "content_type": "application/json"}, 400),
        ({"json": {}}, 400),
        ({"json": {"pushToken": ""}}, 400),
        ({"json": {"pushToken": 1234}}, 400),
        ({"json": {"pushToken": "has spaces in it"}}, 400),
        ({"json": ["pushToken"]}, 400),
        ({"json": {"pushToken": "a" * 70_000}}, 413),
    ],
)
def test_bad_registration_bodies_store_nothing(
    client: FlaskClient, session: Session, demo: Program, kwargs: dict[str, object], status: int
) -> None:
    phone = WalletDevice(client, "d3v1ce0000000000000000000000000c")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-00-03")["apple_pass"])["serialNumber"])
    response = client.post(
        f"/passkit/v1/devices/{phone.library_id}/registrations/{PASS_TYPE_ID}/{serial}",
        headers=phone._auth(serial),
        **kwargs,  # type: ignore[arg-type]
    )
    assert response.status_code == status
    assert response.json["error"]["message"]  # type: ignore[index]
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_reinstalls_and_second_devices_never_pay_the_bonus_twice(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    links = enroll(client, "+7 921 000-00-04")
    iphone = WalletDevice(client, "iphone0000000000000000000000000d")
    watch = WalletDevice(client, "watch00000000000000000000000000d", push_token="cd34" * 16)
    serial = str(iphone.add_pass(links["apple_pass"])["serialNumber"])
    watch.add_pass(links["apple_pass"])
    assert iphone.register(serial) == 201
    assert watch.register(serial) == 201
    assert iphone.unregister(serial) == 200
    iphone.push_token = "ef56" * 16
    assert iphone.register(serial) == 201  # re-install
    card = session.scalars(select(Card)).one()
    session.refresh(card)
    assert card.balance == 2000
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert card.apple_installed_at is not None
    tokens = dict(session.execute(select(AppleDevice.library_id, AppleDevice.push_token)).all())
    assert tokens == {iphone.library_id: "ef56" * 16, watch.library_id: "cd34" * 16}


def test_registering_again_updates_the_push_token(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce0000000000000000000000000e")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-00-05")["apple_pass"])["serialNumber"])
    assert phone.register(serial) == 201
    phone.push_token = "0f" * 40
    assert phone.register(serial) == 200
    device = session.scalars(select(AppleDevice)).one()
    assert device.push_token == "0f" * 40


def test_only_changed_passes_are_listed_for_each_device(
    client: FlaskClient, services: Services, session: Session, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce0000000000000000000000000f")
    other = WalletDevice(client, "d3v1ce00000000000000000000000010")
    serials = []
    for i in range(3):
        links = enroll(client, f"+7 921 000-01-0{i}")
        serial = str(phone.add_pass(links["apple_pass"])["serialNumber"])
        assert phone.register(serial) == 201
        serials.append(serial)
    other_links = enroll(client, "+7 921 000-01-09")
    other_serial = str(other.add_pass(other_links["apple_pass"])["serialNumber"])
    assert other.register(other_serial) == 201
    assert sorted(phone.what_changed()[1]) == sorted(serials)
    assert phone.what_changed()[0] == 204

    fixed_clock(services).advance(seconds=5)
    pass_id = session.scalar(select(WalletPass.id).where(WalletPass.serial_number == serials[1]))
    mark_changed(session, services.clock, [pass_id])
    session.commit()
    assert phone.what_changed() == (200, [serials[1]])
    assert phone.what_changed()[0] == 204
    # A tag Wallet cannot have got from us means "everything".
    phone.tag = "garbage"
    assert sorted(phone.what_changed()[1]) == sorted(serials)
    # An unknown device or pass type has nothing that changed.
    unknown = client.get(f"/passkit/v1/devices/nobody/registrations/{PASS_TYPE_ID}")
    assert unknown.status_code == 204
    wrong_type = client.get(f"/passkit/v1/devices/{phone.library_id}/registrations/pass.x.y")
    assert wrong_type.status_code == 204


def test_two_changes_within_one_second_never_produce_a_stale_304(
    client: FlaskClient, services: Services, session: Session, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce00000000000000000000000011")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-00-06")["apple_pass"])["serialNumber"])
    pass_id = session.scalar(select(WalletPass.id).where(WalletPass.serial_number == serial))
    _, first, _ = phone.fetch(serial)
    mark_changed(session, services.clock, [pass_id])  # same clock second
    session.commit()
    status, second, _ = phone.fetch(serial, since=first)
    assert status == 200 and second != first
    assert phone.fetch(serial, since=second)[0] == 304
    # An If-Modified-Since older than the change gets the pass.
    older = http_date(parse_date(second) - timedelta(seconds=1))  # type: ignore[operator]
    assert phone.fetch(serial, since=older)[0] == 200


def test_head_answers_like_get_without_a_body(client: FlaskClient, demo: Program) -> None:
    phone = WalletDevice(client, "d3v1ce00000000000000000000000012")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-00-07")["apple_pass"])["serialNumber"])
    url = f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}"
    response = client.head(url, headers=phone._auth(serial))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.pkpass"
    assert response.headers["Last-Modified"]
    assert response.data == b""
