"""Pass changes reach registered devices through the real APNs client and a fake APNs
that speaks HTTP/2 over client-certificate TLS on a loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.fakes.apns import FakeApns, running_fake_apns
from app.fakes.tls import make_server_cert
from app.loyalty.models import Program
from app.passes.apple.certs import DevChain
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.passes.sync import mark_changed
from app.push.apns.client import ApnsConfig, ApnsSender
from app.services import delivery, enrollment, passkit
from app.worker import handlers
from app.worker.runtime import client_pem_files
from tests.helpers import PASS_TYPE_ID, fixed_clock
from tests.metrics_helpers import scrape, value


@pytest.fixture(scope="module")
def server_cert(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_server_cert(tmp_path_factory.mktemp("fake-apns"))


@pytest.fixture
def fake_apns(server_cert: Any, dev_chain: DevChain) -> Iterator[dict[str, Any]]:
    """A fake APNs; tests set answers/dead tokens on it before sending."""
    holder: dict[str, Any] = {}

    def start(**kw: Any) -> FakeApns:
        cm = running_fake_apns(
            server_cert=server_cert.cert,
            server_key=server_cert.key,
            client_ca=dev_chain.root_cert,
            topic=PASS_TYPE_ID,
            **kw,
        )
        holder["cm"] = cm
        return cm.__enter__()

    holder["start"] = start
    yield holder
    if "cm" in holder:
        holder["cm"].__exit__(None, None, None)


def sender_for(
    services: Services, fake: FakeApns, server_cert: Any, attempts: int = 4
) -> ApnsSender:
    cert, key = client_pem_files(services)
    return ApnsSender(
        ApnsConfig(
            topic=PASS_TYPE_ID,
            base_url=f"https://127.0.0.1:{fake.port}",
            client_cert=cert,
            client_key=key,
            ca_file=server_cert.ca_cert,
            connections=2,
            max_attempts=4,
            backoff_base=0.01,
        )
    )


def registered_pass(
    session: Session, services: Services, program: Program, phone: str, tokens: list[str]
) -> int:
    form = enrollment.EnrollmentForm(name="Push", phone=phone, consent=True)
    card = enrollment.enroll(
        session,
        services.clock,
        program,
        enrollment.validate(form, program, services.clock.now().date()),
    )
    wallet_pass = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
    ref = passkit.PassRef(
        wallet_pass.id, card.id, wallet_pass.serial_number, wallet_pass.last_modified
    )
    for i, token in enumerate(tokens):
        passkit.register(
            session, services.clock, ref, passkit.Registrant(f"dev{phone[-4:]}{i}", token)
        )
    session.commit()
    return wallet_pass.id


def owed(session: Session, pass_id: int) -> bool:
    session.expire_all()
    p = session.get(WalletPass, pass_id)
    assert p is not None
    return p.version > p.apns_delivered_version


def test_a_change_reaches_every_registered_device_once(
    session: Session, services: Services, demo: Program, fake_apns: dict[str, Any], server_cert: Any
) -> None:
    fake = fake_apns["start"]()
    tokens = ["a1" * 32, "b2" * 32]
    pass_id = registered_pass(session, services, demo, "+79004440001", tokens)
    with sender_for(services, fake, server_cert) as sender:
        report = handlers.deliver(services, sender, [pass_id])  # the install bonus change
        assert report.delivered_passes == 1 and report.outcomes["accepted"] == 2
        assert sorted(r.token for r in fake.received) == sorted(tokens)
        for r in fake.received:
            assert r.headers["apns-topic"] == PASS_TYPE_ID
            assert r.body == b"{}"
        assert not owed(session, pass_id)
        again = handlers.deliver(services, sender, [pass_id])
        assert again.outcomes == {} and len(fake.received) == 2  # nothing owed, nothing sent
        mark_changed(session, services.clock, [pass_id])
        session.commit()
        handlers.deliver(services, sender, [pass_id])
        assert len(fake.received) == 4


def test_android_wallet_tokens_are_not_sent_to_apns_nor_pruned(
    session: Session, services: Services, demo: Program, fake_apns: dict[str, Any], server_cert: Any
) -> None:
    iphone, android = "a7" * 32, "fcm:APA91b-android-token"
    # Apple would answer 400 BadDeviceToken to an FCM token, which prunes the device.
    fake = fake_apns["start"](bad_tokens={android})
    pass_id = registered_pass(session, services, demo, "+79004440009", [iphone, android])
    device = session.scalars(select(AppleDevice).where(AppleDevice.push_token == android)).one()
    device.wallet_app = "walletpasses"
    session.commit()
    with sender_for(services, fake, server_cert) as sender:
        report = handlers.deliver(services, sender, [pass_id])
    assert [r.token for r in fake.received] == [iphone]
    assert report.pruned == 0
    assert set(session.scalars(select(AppleDevice.push_token))) == {iphone, android}


def test_dead_and_bad_tokens_are_pruned_unless_the_device_came_back(
    session: Session, services: Services, demo: Program, fake_apns: dict[str, Any], server_cert: Any
) -> None:
    dead, bad, alive, back = "dd" * 32, "ee" * 32, "aa" * 32, "cc" * 32
    fake = fake_apns["start"](dead_tokens={dead, back}, bad_tokens={bad})
    pass_id = registered_pass(session, services, demo, "+79004440002", [dead, bad, alive, back])
    # This device registered again after Apple saw its token die: keep it.
    device = session.scalars(select(AppleDevice).where(AppleDevice.push_token == back)).one()
    device.updated_at = datetime.fromtimestamp(fake.dead_since_ms / 1000, UTC) + timedelta(hours=1)
    session.commit()
    with sender_for(services, fake, server_cert) as sender:
        report = handlers.deliver(services, sender, [pass_id])
    assert report.pruned == 2
    left = set(session.scalars(select(AppleDevice.push_token)))
    assert left == {alive, back}
    assert not owed(session, pass_id)
    with services.transaction(write=False) as s:
        stats = delivery.stats(s, services.clock)
    assert stats.counters["pruned"] == 2 and stats.counters["unregistered"] == 2
    assert stats.counters["bad_token"] == 1 and stats.counters["accepted"] == 1


def test_a_certificate_error_stops_sending_and_raises_an_alarm(
    session: Session, services: Services, demo: Program, fake_apns: dict[str, Any], server_cert: Any
) -> None:
    broken = "f0" * 32
    fake = fake_apns["start"](answers={broken: (403, "BadCertificate")})
    first = registered_pass(session, services, demo, "+79004440003", [broken])
    second = registered_pass(session, services, demo, "+79004440004", ["0a" * 32])
    with sender_for(services, fake, server_cert) as sender:
        handlers.deliver(services, sender, [first])
        assert owed(session, first)
        with services.transaction(write=False) as s:
            assert "BadCertificate" in (delivery.stats(s, services.clock).alarm or "")
        sent = len(fake.received)
        handlers.deliver(services, sender, [second])  # paused: nothing goes out
        assert len(fake.received) == sent and owed(session, second)
        assert handlers.sweep(services) == 0
        with services.transaction() as s:
            assert delivery.clear_alarms(s, services.clock) == 1
        handlers.deliver(services, sender, [second])
        assert not owed(session, second)


def test_server_errors_are_retried_until_accepted(
    session: Session, services: Services, demo: Program, fake_apns: dict[str, Any], server_cert: Any
) -> None:
    fake = fake_apns["start"](fail_ratio=0.3, seed=7)
    ids = [
        registered_pass(session, services, demo, f"+7900444{i:04d}", [f"{i:02x}" * 32])
        for i in range(10, 30)
    ]
    with sender_for(services, fake, server_cert, attempts=12) as sender:
        report = handlers.deliver(services, sender, ids)
    assert report.delivered_passes == 20 and report.outcomes == {"accepted": 20}
    assert any(r.status == 500 for r in fake.received)


def test_the_sweeper_resends_what_stayed_owed(
    session: Session, services: Services, demo: Program
) -> None:
    pass_id = registered_pass(session, services, demo, "+79004440005", ["ab" * 32])
    services.queue.huey.flush()
    assert handlers.sweep(services) == 0  # just changed: the enqueue after commit has it
    fixed_clock(services).advance(seconds=61)
    assert handlers.sweep(services) == 1
    tasks = [t for t in services.queue.huey.pending() if t.name == "deliver_passes"]
    assert [t.args[0] for t in tasks] == [[pass_id]]
    # It runs a minute later: a worker delivering the pass right now (its task out of
    # the queue already) records it by then, and the phone is not pushed twice.
    waits = tasks[0].eta - datetime.now(UTC).replace(tzinfo=None)
    assert timedelta(seconds=50) < waits <= timedelta(seconds=61)
    # Still waiting its turn a minute later (a campaign's backlog): not enqueued again.
    fixed_clock(services).advance(seconds=61)
    assert handlers.sweep(services) == 0
    services.queue.huey.flush()  # the task lost with a queue that was wiped
    assert handlers.sweep(services) == 1
    count = session.scalar(select(func.count()).select_from(AppleRegistration))
    assert count == 1


def test_push_outcomes_reach_the_metrics_once_recorded(
    session: Session,
    services: Services,
    demo: Program,
    fake_apns: dict[str, Any],
    server_cert: Any,
    client: FlaskClient,
) -> None:
    dead, alive = "d0" * 32, "a0" * 32
    fake = fake_apns["start"](dead_tokens={dead})
    pass_id = registered_pass(session, services, demo, "+79004440006", [dead, alive])
    name = "walletpass_pushes_total"
    before = scrape(client)
    with sender_for(services, fake, server_cert) as sender:
        handlers.deliver(services, sender, [pass_id])
    after = scrape(client)
    for outcome in ("accepted", "unregistered", "pruned"):
        grown = value(after, name, channel="apns", outcome=outcome)
        assert grown == value(before, name, channel="apns", outcome=outcome) + 1, outcome
    assert (
        value(after, "walletpass_passes_owed", channel="passkit")
        == value(before, "walletpass_passes_owed", channel="passkit") - 1
    )
