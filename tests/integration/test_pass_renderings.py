"""Passes signed ahead by the worker just before it pushes: the fetch each phone makes
after the push reads that one, and only while it is still the pass's current version."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, Program
from app.passes.apple.bundle import unpack_files
from app.passes.apple.certs import DevChain
from app.passes.models import PassRendering, WalletPass
from app.passes.sync import mark_card_changed
from app.push.apns.client import ApnsSender
from app.services import cards, enrollment, erasure, pass_renderings
from app.services.programs import seed_demo
from app.worker import handlers
from tests.helpers import Pkpass, fixed_clock, require_command
from tests.integration.test_push_pipeline import (  # noqa: F401 - fixtures
    fake_apns,
    sender_for,
    server_cert,
)
from tests.web.test_passkit_device import WalletDevice, enroll
from tests.web.test_passkit_fetch import statements


def _installed(client: FlaskClient, session: Session, library_id: str, phone: str) -> Any:
    """A phone holding a registered pass: (device, serial, card)."""
    device = WalletDevice(client, library_id, push_token=library_id[-8:] * 8)
    serial = str(device.add_pass(enroll(client, phone)["apple_pass"])["serialNumber"])
    assert device.register(serial) == 201
    wallet_pass = session.scalars(
        select(WalletPass).where(WalletPass.serial_number == serial)
    ).one()
    return device, serial, session.get(Card, wallet_pass.card_id)


@pytest.fixture
def sender(
    services: Services,
    fake_apns: dict[str, Any],  # noqa: F811
    server_cert: Any,  # noqa: F811
) -> Iterator[ApnsSender]:
    with sender_for(services, fake_apns["start"](), server_cert) as opened:
        yield opened


def _pushed(
    client: FlaskClient,
    session: Session,
    services: Services,
    sender: ApnsSender,
    n: int,
    offer: str,
) -> tuple[WalletDevice, str, Card]:
    """A phone holding a pass whose new offer the worker has just pushed."""
    phone, serial, card = _installed(
        client, session, f"d3v1ce0000000000000000000000a{n:03d}", f"+7 921 100-00-{n:02d}"
    )
    _new_offer(session, services, card, offer)
    handlers.deliver(services, sender, [_pass_id(session, serial)])
    return phone, serial, card


def _new_offer(session: Session, services: Services, card: Card, offer: str) -> None:
    session.execute(update(Card).where(Card.id == card.id).values(offer_ru=offer, offer_en=offer))
    mark_card_changed(session, services.clock, card.id)
    session.commit()


def _shows(got: Pkpass, text: str) -> bool:
    return text in got.files["pass.json"].decode() + got.files["ru.lproj/pass.strings"].decode()


def _stored(session: Session, serial: str) -> PassRendering | None:
    session.expire_all()
    return session.scalar(
        select(PassRendering)
        .join(WalletPass, WalletPass.id == PassRendering.pass_id)
        .where(WalletPass.serial_number == serial)
    )


def _stored_signature(row: PassRendering) -> bytes:
    return next(f.payload for f in unpack_files(row.files) if f.name == "signature")


def _checked(body: bytes, chain: DevChain, tmp_path: Path) -> Pkpass:
    """The pass as Wallet checks it: every file in the manifest with its SHA-1, and the
    signature over the manifest valid for the Pass Type ID certificate (openssl)."""
    got = Pkpass.read(body)
    listed = {n for n in got.files if n not in ("manifest.json", "signature")}
    assert set(got.manifest) == listed
    for name in listed:
        assert hashlib.sha1(got.files[name]).hexdigest() == got.manifest[name], name  # noqa: S324
    (tmp_path / "signature").write_bytes(got.files["signature"])
    (tmp_path / "manifest.json").write_bytes(got.files["manifest.json"])
    result = subprocess.run(
        [
            require_command("openssl", "openssl"),
            *("cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any"),
            *("-in", str(tmp_path / "signature"), "-content", str(tmp_path / "manifest.json")),
            *("-CAfile", str(chain.root_cert), "-certfile", str(chain.wwdr_cert)),
            *("-out", "/dev/null"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return got


def test_after_a_push_each_phone_gets_the_pass_signed_ahead_in_two_statements(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    sender: ApnsSender,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    phone, serial, _ = _pushed(client, session, services, sender, 1, "Скидка 30 % на зимние куртки")
    row = _stored(session, serial)
    assert row is not None
    with statements(services.engine) as seen:
        status, _, body = phone.fetch(serial, since="Thu, 01 Jan 1970 00:00:00 GMT")
    assert status == 200
    assert len(seen) == 2, seen  # authentication, the rendering: no card read, no signing
    got = _checked(body, dev_chain, tmp_path)
    assert got.files["signature"] == _stored_signature(row)
    # The same pass a live render makes of the same state, file for file.
    live = Pkpass.read(
        cards.apple_pass_by_id(session, row.pass_id, services.pkpass, services.templates)
    )
    assert got.pass_json == live.pass_json
    assert _shows(got, "Скидка 30 % на зимние куртки")
    assert {n: d for n, d in got.files.items() if n != "signature"} == {
        n: d for n, d in live.files.items() if n != "signature"
    }


def _pass_id(session: Session, serial: str) -> int:
    return session.scalars(select(WalletPass.id).where(WalletPass.serial_number == serial)).one()


def test_a_change_after_the_push_is_rendered_live_not_served_stale(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    sender: ApnsSender,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    phone, serial, card = _pushed(client, session, services, sender, 2, "Первое предложение")
    old = _stored(session, serial)
    assert old is not None
    fixed_clock(services).advance(timedelta(seconds=5))
    _new_offer(session, services, card, "Второе предложение")  # not pushed yet
    status, _, body = phone.fetch(serial, since="Thu, 01 Jan 1970 00:00:00 GMT")
    assert status == 200
    got = _checked(body, dev_chain, tmp_path)
    assert _shows(got, "Второе предложение")
    assert got.files["signature"] != _stored_signature(old)


@pytest.mark.parametrize(
    "spoiled",
    [{"signer": "renewed"}, {"files": b"\x09\x00\xff\xff\xff\x7fpass.json"}],
    ids=["renewed certificate", "damaged row"],
)
def test_a_pass_signed_with_another_certificate_is_not_served(
    spoiled: dict[str, object],
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    sender: ApnsSender,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    """After the operator renews the Pass Type ID certificate, the web serves nothing
    signed with the old one (the worker signs the next push with the new one); a damaged
    rendering is rendered live too, not answered with an error."""
    phone, serial, _ = _pushed(client, session, services, sender, 3, "Подарок к покупке")
    row = _stored(session, serial)
    assert row is not None
    session.execute(
        update(PassRendering).where(PassRendering.pass_id == row.pass_id).values(**spoiled)
    )
    session.commit()
    with statements(services.engine) as seen:
        status, _, body = phone.fetch(serial, since="Thu, 01 Jan 1970 00:00:00 GMT")
    assert status == 200
    assert len(seen) == 3, seen  # authentication, the rendering (refused), the card: live
    assert _shows(_checked(body, dev_chain, tmp_path), "Подарок к покупке")


def test_a_pass_that_changed_while_being_signed_is_not_kept(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    """The worker signs in one transaction and keeps in another; a change in between (an
    erasure, say) would leave a rendering of what the change removed: it is not kept."""
    _, serial, card = _installed(
        client, session, "d3v1ce0000000000000000000000a004", "+7 921 100-00-04"
    )
    pass_id = _pass_id(session, serial)
    made = pass_renderings.signed(session, services.pkpass, services.templates, [pass_id])
    assert pass_id in made
    session.rollback()
    fixed_clock(services).advance(timedelta(seconds=2))
    _new_offer(session, services, card, "Изменено между подписью и записью")
    pass_renderings.store(session, services.clock.now(), services.pkpass.signer_fingerprint, made)
    session.commit()
    assert _stored(session, serial) is None


def test_erasure_and_the_daily_job_drop_what_was_signed_ahead(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    sender: ApnsSender,
) -> None:
    _, erased, erased_card = _pushed(client, session, services, sender, 5, "Только сегодня")
    _, kept, _ = _pushed(client, session, services, sender, 6, "Только сегодня")
    assert _stored(session, erased) is not None and _stored(session, kept) is not None
    card = session.get(Card, erased_card.id)
    assert card is not None
    erasure.erase(session, services.clock, card, "cli")
    session.commit()
    assert _stored(session, erased) is None  # it held the member's name
    assert _stored(session, kept) is not None
    fixed_clock(services).advance(pass_renderings.KEEP + timedelta(hours=1))
    handlers.run_daily(services)
    assert _stored(session, kept) is None


def test_the_newest_version_wins_and_only_it_is_served(real_services: Services) -> None:
    """On both databases: two workers keeping renderings of one pass keep the newer, and
    the fetch serves a rendering only for the version the pass is at."""
    services = real_services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Анна", phone="+79211000007", consent=True)
        data = enrollment.validate(form, program, services.clock.now().date())
        card_id = enrollment.enroll(session, services.clock, program, data).id
    with services.transaction(write=False) as session:
        pass_id = session.scalars(select(WalletPass.id).where(WalletPass.card_id == card_id)).one()
        older = pass_renderings.signed(session, services.pkpass, services.templates, [pass_id])
    fixed_clock(services).advance(timedelta(seconds=3))
    with services.transaction() as session:
        mark_card_changed(session, services.clock, card_id)
    with services.transaction(write=False) as session:
        newer = pass_renderings.signed(session, services.pkpass, services.templates, [pass_id])
    assert newer[pass_id][0] > older[pass_id][0]
    signer = services.pkpass.signer_fingerprint
    for made in (newer, older):  # the slower worker, with the older version, comes last
        with services.transaction() as session:
            pass_renderings.store(session, services.clock.now(), signer, made)
    with services.lookup() as conn:
        assert pass_renderings.served(conn, pass_id, older[pass_id][0], services.pkpass) is None
        body = pass_renderings.served(conn, pass_id, newer[pass_id][0], services.pkpass)
    assert body is not None
    assert Pkpass.read(body).files["signature"] == newer[pass_id][1].files[-1].payload
    with services.transaction(write=False) as session:  # nothing to sign again
        assert pass_renderings.signed(session, services.pkpass, services.templates, [pass_id]) == {}
