"""Concurrent registrations on SQLite and PostgreSQL through their real sessions: the
install bonus is paid exactly once, and a pass never takes more devices than its cap."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.services import enrollment
from app.services.programs import seed_demo
from app.web import create_app
from tests.helpers import PASS_TYPE_ID


def enrolled_pass(services: Services) -> tuple[int, str, str]:
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Race", phone="+79005550000", consent=True)
        card = enrollment.enroll(
            session,
            services.clock,
            program,
            enrollment.validate(form, program, services.clock.now().date()),
        )
        p = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
        return card.id, p.serial_number, p.auth_token


def hammer(services: Services, serial: str, token: str, devices: list[str]) -> Counter[int]:
    """Fire one registration per entry of ``devices`` at the same moment, each on its
    own thread and database connection."""
    app = create_app(services=services)
    start = threading.Barrier(len(devices))
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def one(device: str) -> None:
        client = app.test_client()
        start.wait()
        response = client.post(
            f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE_ID}/{serial}",
            json={"pushToken": f"{device}ff"},
            headers={"Authorization": f"ApplePass {token}"},
        )
        with lock:
            statuses[response.status_code] += 1

    threads = [threading.Thread(target=one, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_many_devices_registering_one_card_at_once_pay_one_bonus(real_services: Services) -> None:
    services = real_services
    card_id, serial, token = enrolled_pass(services)
    devices = [f"device{i:02d}" for i in range(24)]
    statuses = hammer(services, serial, token, devices)
    cap = services.settings.max_devices_per_pass
    assert statuses == Counter({201: cap, 403: 24 - cap})
    with services.transaction(write=False) as session:
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.card_id == card_id)).all()
        assert [(e.kind, e.points) for e in entries] == [("bonus", 2000)]
        card = session.get(Card, card_id)
        assert card is not None and card.balance == 2000
        assert session.scalar(select(func.count()).select_from(AppleRegistration)) == cap
        assert session.scalar(select(func.count()).select_from(AppleDevice)) == cap
        version = session.scalar(select(WalletPass.version).where(WalletPass.card_id == card_id))
        assert version == 2  # marked changed once, by the one install that paid


def test_one_device_retrying_in_a_storm_registers_once(real_services: Services) -> None:
    services = real_services
    _card_id, serial, token = enrolled_pass(services)
    statuses = hammer(services, serial, token, ["samedevice"] * 16)
    assert statuses[201] == 1 and statuses[200] == 15
    with services.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(AppleDevice)) == 1
        assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 1
        assert session.scalar(select(func.sum(LedgerEntry.points))) == 2000
