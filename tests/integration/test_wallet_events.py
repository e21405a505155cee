"""Every way a card arrives in or leaves a wallet app leaves one event behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.passes.google.callbacks import CallbackMessage
from app.passes.models import AppleDevice, GoogleObject, WalletPass
from app.push.models import WalletAppEvent
from app.services import google_wallet, passkit, wallet_events, wallet_stats
from app.worker import handlers
from tests.helpers import fixed_clock
from tests.integration import test_push_pipeline as pipeline
from tests.integration.test_push_pipeline import registered_pass, sender_for

# The fake APNs and its certificate, shared with the push pipeline tests.
fake_apns, server_cert = pipeline.fake_apns, pipeline.server_cert


def events(session: Session) -> list[tuple[str, str, str, int | None]]:
    session.expire_all()
    return [
        (e.wallet_app, e.kind, e.reason, e.pass_id)
        for e in session.scalars(select(WalletAppEvent).order_by(WalletAppEvent.id))
    ]


def ref_of(session: Session, pass_id: int) -> passkit.PassRef:
    p = session.get(WalletPass, pass_id)
    assert p is not None
    return passkit.PassRef(p.id, p.card_id, p.serial_number, p.last_modified)


def test_registering_and_unregistering_record_an_install_and_a_removal_per_app(
    session: Session, services: Services, demo: Program
) -> None:
    pass_id = registered_pass(session, services, demo, "+79005550001", [])
    ref = ref_of(session, pass_id)
    union = passkit.Registrant("union-phone", "wu-token", wallet_app="walletunion")
    iphone = passkit.Registrant("iphone", "aa" * 32)
    assert passkit.register(session, services.clock, ref, union)
    assert not passkit.register(session, services.clock, ref, union)  # a retry: no new install
    fixed_clock(services).advance(hours=1)
    assert passkit.register(session, services.clock, ref, iphone)
    passkit.unregister(session, services.clock, ref, "union-phone")
    passkit.unregister(session, services.clock, ref, "union-phone")  # already gone: nothing
    passkit.unregister(session, services.clock, ref, "never-seen")
    session.commit()
    assert events(session) == [
        ("walletunion", "install", "registered", pass_id),
        ("apple_wallet", "install", "registered", pass_id),
        ("walletunion", "removal", "unregistered", pass_id),
    ]
    with services.transaction(write=False) as s:
        active = wallet_stats.active_cards(s, demo.id)
    assert active == {"apple_wallet": 1, "google_wallet": 0}


def test_apns_prunes_are_removals_from_apple_wallet(
    session: Session,
    services: Services,
    demo: Program,
    fake_apns: dict[str, Any],
    server_cert: Any,
) -> None:
    dead, bad, alive = "dd" * 32, "ee" * 32, "aa" * 32
    fake = fake_apns["start"](dead_tokens={dead}, bad_tokens={bad})
    pass_id = registered_pass(session, services, demo, "+79005550002", [dead, bad, alive])
    with sender_for(services, fake, server_cert) as sender:
        report = handlers.deliver(services, sender, [pass_id])
    assert report.pruned == 2
    removals = [e for e in events(session) if e[1] == "removal"]
    assert removals == [("apple_wallet", "removal", "apns_pruned", pass_id)] * 2
    assert [e for e in events(session) if e[1] == "install"] == [
        ("apple_wallet", "install", "registered", pass_id)
    ] * 3


def test_relay_channels_record_removals_before_pruning(
    session: Session, services: Services, demo: Program
) -> None:
    """The function relay channels call with the registrations they are about to delete."""
    pass_id = registered_pass(session, services, demo, "+79005550003", [])
    ref = ref_of(session, pass_id)
    passkit.register(session, services.clock, ref, passkit.Registrant("p2u", "t", "pass2u"))
    session.flush()
    from app.passes.models import AppleRegistration

    reg_ids = set(session.scalars(select(AppleRegistration.id)))
    assert wallet_events.record_removals(session, services.clock, reg_ids, "relay_expired") == 1
    assert wallet_events.record_removals(session, services.clock, set(), "relay_unknown") == 0
    session.commit()
    assert events(session)[-1] == ("pass2u", "removal", "relay_expired", pass_id)
    with pytest.raises(ValueError, match="reason"):
        wallet_events.record_removals(session, services.clock, reg_ids, "because")
    with pytest.raises(ValueError, match="wallet app"):
        wallet_events.record(session, services.clock, "nokia_wallet", "install", pass_id)
    with pytest.raises(ValueError, match="kind"):
        wallet_events.record(session, services.clock, "pass2u", "uninstall", pass_id)


def test_google_saves_and_deletes_are_installs_and_removals_once_each(
    session: Session, services: Services, demo: Program
) -> None:
    pass_id = registered_pass(session, services, demo, "+79005550004", [])
    google_wallet.record_object(session, services.clock, pass_id, "issuer.obj-1", 1)
    session.flush()

    def callback(kind: str, nonce: str) -> str:
        message = CallbackMessage("issuer.class", "issuer.obj-1", kind, 0, 1, nonce)
        return google_wallet.handle_callback(session, services.clock, message)

    assert callback("save", "n1") == "saved"
    assert callback("save", "n1") == "duplicate"
    assert callback("save", "n2") == "saved"  # saved again on a second phone: still one card
    assert callback("del", "n3") == "removed"
    assert callback("del", "n4") == "removed"
    assert callback("save", "n5") == "saved"
    session.commit()
    assert events(session) == [
        ("google_wallet", "install", "google_save", pass_id),
        ("google_wallet", "removal", "google_delete", pass_id),
        ("google_wallet", "install", "google_save", pass_id),
    ]
    obj = session.scalars(select(GoogleObject)).one()
    assert obj.removed_at is None
    with services.transaction(write=False) as s:
        assert wallet_stats.active_cards(s, demo.id)["google_wallet"] == 1
    assert session.scalars(select(AppleDevice)).all() == []
