"""Android wallet apps get live cards through their push relays: whole conversations
with test-side phones of each app against fake relays on loopback sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services, build_services
from app.cli.worker import push_stats
from app.clock import FixedClock
from app.fakes.relays import FakeRelays, running_fake_relays
from app.loyalty.models import LedgerEntry, Program
from app.passes.apple.certs import DevChain
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.passes.sync import mark_changed
from app.push.channels import Channels
from app.push.relay_http import RelayHttp
from app.push.relays import PassWallet, Retrying, WalletUnion, build_relays
from app.services import delivery, terminals
from app.services.programs import seed_demo
from app.web import create_app
from app.worker import handlers
from app.worker.runtime import relay_channels
from tests.conftest import make_settings
from tests.helpers import PASS_TYPE_ID, Pkpass, fixed_clock
from tests.web.test_passkit_device import WalletDevice, balance_of

KEYS = {
    "walletpasses": "wp-key-0123456789",
    "pass2u": "p2u-key-0123456789",
    "passworks": "pw-key-0123456789",
    "passhub": "ph-key-0123456789",
}
FAST = Retrying(attempts=4, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)

# app, scheme, headers, relay that must be called, where its tokens travel
PHONES = [
    ("walletpasses", "AndroidPass", {"User-Agent": "WalletPasses/2.9.1"}, "pushTokens"),
    ("passwallet", "AttidoPass", {}, "pushTokens"),
    ("pass2u", "ApplePass", {"X-Pass-Client": "Passes"}, "registrationIds"),
    ("passworks", "ApplePass", {"X-Pass-Client": "Passworks"}, "pushTokens"),
    ("walletunion", "WalletUnionPass", {"User-Agent": "WalletUnion/1.0"}, "pushTokens"),
    ("walletunion_hms", "WalletUnionHMSPass", {"User-Agent": "WalletUnionHMS/1.0"}, "pushTokens"),
    ("passhub", "TelegramPass", {"User-Agent": "PassHubTelegram/1.0"}, "push_tokens"),
]


_CLIENTS: list[RelayHttp] = []


def http(timeout: float = 5) -> RelayHttp:
    client = RelayHttp(timeout=timeout)
    _CLIENTS.append(client)
    return client


@pytest.fixture
def fake() -> Iterator[FakeRelays]:
    with running_fake_relays(keys=dict(KEYS)) as relays:
        yield relays
        while _CLIENTS:  # keep-alive connections closed before the relay goes
            _CLIENTS.pop().close()


def channels_for(fake: FakeRelays, **off: str) -> Channels:
    """Every relay wired to the fakes with the right keys; ``off`` switches some off."""
    settings = {
        app: fake.settings(app) for app in ("walletpasses", "pass2u", "passworks", "passhub")
    }
    settings["walletunion"] = fake.settings("walletunion")
    for app, why in off.items():
        settings[app] = settings[app].__class__(url=None, key=None, key_required=True, off=why)
    return Channels(build_relays(settings, http(), production=False, retrying=FAST))


def join(client: FlaskClient, phone: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Анна", "phone": phone, "consent": True},
    )
    assert response.status_code == 201
    assert response.json is not None
    return dict(response.json)


def buy(
    client: FlaskClient, session: Session, services: Services, demo: Program, barcode: str
) -> int:
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    response = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-100", "amount": 100_000, "barcode": barcode},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.json
    return int(response.json["balance"])  # type: ignore[index]


def pass_of(session: Session, serial: str) -> WalletPass:
    session.expire_all()
    return session.scalars(select(WalletPass).where(WalletPass.serial_number == serial)).one()


def phone_of(
    client: FlaskClient, app: str, scheme: str, headers: dict[str, str], fake: FakeRelays
) -> WalletDevice:
    passwallet = app == "passwallet"
    return WalletDevice(
        client,
        f"{app.replace('_', '-')}-phone-0001",
        push_token=f"{app}:APA91b-token-0001",
        scheme=scheme,
        headers=headers,
        route="registrations_attido" if passwallet else "registrations",
        push_service_url=fake.url("passwallet") if passwallet else None,
    )


@pytest.mark.parametrize(
    ("wallet_app", "scheme", "headers", "field"), PHONES, ids=[p[0] for p in PHONES]
)
def test_a_purchase_reaches_each_android_app_through_its_relay(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays,
    wallet_app: str, scheme: str, headers: dict[str, str], field: str,
) -> None:  # fmt: skip
    channels = channels_for(fake)
    enrolled = join(client, "+7 921 300-00-01")
    phone = phone_of(client, wallet_app, scheme, headers, fake)
    serial = str(phone.add_pass(enrolled["links"]["apple_pass"])["serialNumber"])
    assert phone.register(serial) == 201
    assert phone.register(serial) == 200  # registering again pays nothing more
    assert session.scalar(select(func.count()).where(LedgerEntry.kind == "bonus")) == 1
    pass_id = pass_of(session, serial).id
    handlers.deliver(services, channels, [pass_id])  # the install bonus change
    assert phone.what_changed()[1] == [serial]
    assert balance_of(Pkpass.read(phone.fetch(serial)[2]).pass_json) == 2000

    balance = buy(client, session, services, demo, enrolled["card"]["barcode"])
    started = time.monotonic()
    handlers.deliver(services, channels, [pass_id])
    relay = "walletunion" if wallet_app.startswith("walletunion") else wallet_app
    got = fake.wait_for(relay, n=2, timeout=5)[-1]
    assert time.monotonic() - started < 5
    assert got.tokens == [phone.push_token]
    assert isinstance(got.body[field], list)  # an array, never a bare string
    if wallet_app in KEYS:  # the relay's key went in its own header
        assert KEYS[wallet_app] in (
            got.headers.get("x-api-key", "") + got.headers.get("authorization", "")
        )
    if wallet_app.startswith("walletunion"):
        assert got.body["hms"] is (wallet_app == "walletunion_hms")
    assert pass_of(session, serial).apns_delivered_version == pass_of(session, serial).version

    assert phone.what_changed()[1] == [serial]
    status, _, body = phone.fetch(serial)
    assert status == 200 and balance_of(Pkpass.read(body).pass_json) == balance > 2000


def registered(
    client: FlaskClient,
    fake: FakeRelays,
    phones: list[tuple[str, str, dict[str, str], str]],
    n: int,
) -> tuple[int, str]:
    enrolled = join(client, f"+7 921 300-10-{n:02d}")
    serial = ""
    for i, (app, scheme, headers, _) in enumerate(phones):
        phone = phone_of(client, app, scheme, headers, fake)
        phone.library_id += f"-{n}-{i}"
        phone.push_token += f"-{n}-{i}"
        serial = str(phone.add_pass(enrolled["links"]["apple_pass"])["serialNumber"])
        assert phone.register(serial) == 201
    return n, serial


def test_tokens_a_relay_calls_expired_are_pruned_and_the_pass_counts_delivered(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays
) -> None:
    _, serial = registered(client, fake, [PHONES[4], PHONES[3]], 1)  # WalletUnion, Passworks
    fake.expired.update(d.push_token for d in session.scalars(select(AppleDevice)))
    pass_id = pass_of(session, serial).id
    report = handlers.deliver(services, channels_for(fake), [pass_id])
    assert report.pruned == 2
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 0
    assert pass_of(session, serial).apns_delivered_version == pass_of(session, serial).version
    assert delivery.stats(session, services.clock, "walletunion").counters["pruned"] == 1


def test_429_waits_as_long_as_retry_after_asks(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays
) -> None:
    _, serial = registered(client, fake, [PHONES[2]], 2)  # Pass2U
    fake.answer_next("pass2u", 429, headers={"Retry-After": "1"}, body={"error": "slow down"})
    started = time.monotonic()
    report = handlers.deliver(services, channels_for(fake), [pass_of(session, serial).id])
    assert time.monotonic() - started >= 1.0
    assert len(fake.wait_for("pass2u", 1)) == 1 and report.outcomes["accepted"] == 1


def test_5xx_is_retried_and_a_relay_down_leaves_the_pass_owed(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays
) -> None:
    _, serial = registered(client, fake, [PHONES[6]], 3)  # PassHub
    pass_id = pass_of(session, serial).id
    fake.answer_next("passhub", 503)
    handlers.deliver(services, channels_for(fake), [pass_id])
    assert len(fake.received) == 1  # the second try got through
    fake.answer_next("passhub", 502, times=4)  # down for the whole call
    mark_changed(session, services.clock, [pass_id])
    session.commit()
    report = handlers.deliver(services, channels_for(fake), [pass_id])
    assert report.outcomes["failed"] == 1
    assert pass_of(session, serial).apns_delivered_version < pass_of(session, serial).version


def test_a_wrong_key_raises_the_channel_alarm_and_pauses_only_that_channel(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays
) -> None:
    _, serial = registered(client, fake, [PHONES[2], PHONES[0]], 4)  # Pass2U, Wallet Passes
    channels = channels_for(fake)
    fake.keys["pass2u"] = "another-key-98765"  # the relay no longer knows our key
    pass_id = pass_of(session, serial).id
    report = handlers.deliver(services, channels, [pass_id])
    assert "pass2u" in report.config_errors
    assert delivery.paused_channels(session) == {"pass2u"}
    assert len(fake.wait_for("walletpasses", 1)) == 1  # the other channel went on
    assert pass_of(session, serial).apns_delivered_version < pass_of(session, serial).version


def test_a_batch_above_the_relay_limit_is_split_and_a_413_halves_it(fake: FakeRelays) -> None:
    union = WalletUnion(fake.settings("walletunion"), http(), retrying=FAST)
    tokens = [f"fcm-{i:04d}" for i in range(120)]
    results = union.send(PASS_TYPE_ID, tokens)
    assert [len(r.tokens) for r in fake.received] == [50, 50, 20]
    assert {r.outcome for r in results} == {"accepted"}
    union.max_batch = 80  # above WalletUnion's 50: it answers 413 and we halve
    fake.received.clear()
    results = union.send(PASS_TYPE_ID, tokens[:80])
    assert [len(r.tokens) for r in fake.received] == [40, 40]
    assert ("walletunion", 413, "Too many pushTokens, max=50") in fake.refused
    assert {r.outcome for r in results} == {"accepted"}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/passwallet", "https://10.1.2.3/relay", "https://169.254.169.254/x",
     "https://[::1]:{port}/passwallet", "https://192.168.0.10/r"],
)  # fmt: skip
def test_passwallet_relay_url_is_checked_again_at_send_time(fake: FakeRelays, url: str) -> None:
    channel = PassWallet(http(timeout=1), production=True, retrying=FAST)
    results = channel.send(PASS_TYPE_ID, ["tok-1"], url.format(port=fake.port))
    assert results[0].outcome == "rejected" and "refused relay URL" in (results[0].reason or "")
    assert fake.received == []  # nothing left our process
    development = PassWallet(http(timeout=1), production=False, retrying=FAST)
    assert (
        development.send(PASS_TYPE_ID, ["tok-1"], fake.url("passwallet"))[0].outcome == "accepted"
    )


def test_a_switched_off_channel_keeps_its_passes_owed_and_says_so_in_push_stats(
    sqlite_services: Services, fake: FakeRelays
) -> None:
    services = sqlite_services
    client = create_app(services=services).test_client()
    with services.transaction() as session:
        seed_demo(session, services.clock)
    _, serial = registered(client, fake, [PHONES[2], PHONES[0]], 5)  # Pass2U off, Wallet Passes on
    channels = channels_for(fake, pass2u="WALLETPASS_PUSH_PASS2U_KEY is not set")
    with services.transaction(write=False) as session:
        pass_id = pass_of(session, serial).id
    handlers.deliver(services, channels, [pass_id])
    handlers.deliver(services, channels, [pass_id])
    services.queue.huey.flush()  # those were the worker's runs of the queued tasks
    assert len(fake.received) == 1  # Wallet Passes was told once; the retry skipped it
    with services.transaction(write=False) as session:
        assert pass_of(session, serial).apns_delivered_version < pass_of(session, serial).version
    fixed_clock(services).advance(timedelta(minutes=5))
    assert handlers.sweep(services, channels) == 0  # owed only to a switched-off channel
    out = CliRunner().invoke(push_stats, obj=services.settings)
    assert out.exit_code == 0, out.output
    assert "owed to pass2u: 1 (off: WALLETPASS_PUSH_PASS2U_URL is not set)" in out.output
    on = channels_for(fake)
    assert handlers.sweep(services, on) == 1  # once it is on, the sweeper sends it
    handlers.deliver(services, on, [pass_id])
    assert [r.relay for r in fake.received] == ["walletpasses", "pass2u"]


def test_an_unnamed_android_app_is_not_owed_forever(
    client: FlaskClient, session: Session, services: Services, demo: Program, fake: FakeRelays
) -> None:
    unnamed = ("unknown", "ApplePass", {"User-Agent": "SomeWallet/3 (Linux; Android 13)"}, "")
    _, serial = registered(client, fake, [unnamed], 6)
    report = handlers.deliver(services, channels_for(fake), [pass_of(session, serial).id])
    assert report.no_channel == 1 and fake.received == []  # nothing to call, not APNs either
    assert pass_of(session, serial).apns_delivered_version == pass_of(session, serial).version
    assert delivery.unreachable_registrations(session) == 1


def test_development_wires_every_relay_without_a_url_to_local_fakes(
    tmp_path: Path, dev_chain: DevChain, clock: FixedClock
) -> None:
    settings = make_settings(
        tmp_path,
        WALLETPASS_ENV="development",
        WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent),
        WALLETPASS_PUSH_PASSHUB_URL="http://127.0.0.1:9/v1/push",  # set: used as it is
    )
    assert settings.relays["pass2u"].off is None  # development: a fake, not "off"
    services = build_services(settings, clock=clock)
    try:
        with relay_channels(services) as relays:
            by_name = {r.name: r for r in relays}
            assert by_name["passhub"].url == "http://127.0.0.1:9/v1/push"
            assert by_name["passhub"].off == "WALLETPASS_PUSH_PASSHUB_KEY is not set"
            for name in ("walletpasses", "pass2u", "passworks", "walletunion_hms"):
                result = by_name[name].send(PASS_TYPE_ID, ["dev-token-1"])
                assert [r.outcome for r in result] == ["accepted"], name
    finally:
        services.close()
