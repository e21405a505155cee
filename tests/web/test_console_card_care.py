"""Issue 18, item 7: card care in the console (level, block, replace, phone, merge, card
link), each audited, refused with a clear message, closed to marketers (403) and to
staff of other programs (404); the till refuses a replaced card's old code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty import ledger
from app.loyalty.models import Card, LedgerEntry, Member, Program
from app.messaging.models import Invite
from app.passes.models import WalletPass
from app.services import cards, enrollment, staff, terminals
from app.services.programs import seed_demo
from app.staff.models import AuditEntry
from tests.helpers import console_login
from tests.invite_helpers import Channels, channels, run_invite_tasks

__all__ = ["channels"]


def enrol(session: Session, services: Services, program: Program, name: str, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name=name, phone=phone, email=None, consent=True)
    card = enrollment.enroll(
        session,
        services.clock,
        program,
        enrollment.validate(form, program, services.clock.now().date()),
    )
    session.commit()
    return card


@pytest.fixture
def card(session: Session, services: Services, demo: Program) -> Card:
    return enrol(session, services, demo, "Надежда Смирнова", "+79161230000")


def post(client: FlaskClient, card: Card, action: str, **data: str) -> Any:
    page = client.get(f"/console/cards/{card.number}?program=demo").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return client.post(
        f"/console/cards/{card.number}/{action}",
        data={"csrf_token": token.group(1), "program": "demo", **data},
        headers={"Accept-Language": "ru"},
    )


def audits(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def live_pass(session: Session, card_id: int) -> WalletPass:
    session.expire_all()
    return session.scalars(
        select(WalletPass).where(WalletPass.card_id == card_id, WalletPass.voided_at.is_(None))
    ).one()


def test_set_tier_needs_a_reason_is_audited_and_pushed(
    client: FlaskClient, session: Session, services: Services, card: Card
) -> None:
    console_login(client, session, services, "store_manager")
    version = live_pass(session, card.id).version
    missing = post(client, card, "tier", tier="large_family", reason="")
    assert missing.status_code == 422
    assert "Укажите причину" in missing.get_data(as_text=True)
    unknown = post(client, card, "tier", tier="gold", reason="документ проверен")
    assert unknown.status_code == 422 and "Выберите уровень" in unknown.get_data(as_text=True)
    done = post(client, card, "tier", tier="large_family", reason="удостоверение многодетной семьи")
    assert done.status_code == 303
    session.expire_all()
    fresh = session.get(Card, card.id)
    assert fresh is not None and fresh.tier.code == "large_family"
    assert live_pass(session, card.id).version == version + 1
    [entry] = audits(session, "card.tier_set")
    assert entry.details == {"tier": "large_family", "reason": "удостоверение многодетной семьи"}
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="notice"' in page


def test_replace_keeps_balance_and_history_voids_the_old_pass_and_the_till_refuses_it(
    client: FlaskClient, session: Session, services: Services, demo: Program, card: Card
) -> None:
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    till = {"Authorization": f"Bearer {key}"}
    old_barcode = cards.content_of(session, card, services.templates).barcode
    old_number, old_public = card.number, card.public_id
    bought = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-1", "amount": 100_000, "barcode": old_barcode},
        headers=till,
    )
    assert bought.status_code == 201
    session.expire_all()
    balance = session.get(Card, card.id).balance  # type: ignore[union-attr]
    assert balance > 0
    old_pass = live_pass(session, card.id)
    old_version = old_pass.version
    console_login(client, session, services, "store_manager")
    assert post(client, card, "replace", reason="").status_code == 422
    done = post(client, card, "replace", reason="телефон украден")
    assert done.status_code == 303
    session.expire_all()
    fresh = session.get(Card, card.id)
    assert fresh is not None
    assert fresh.number != old_number and fresh.public_id != old_public
    assert fresh.balance == balance and fresh.status == "active"
    assert session.scalar(select(LedgerEntry.id).where(LedgerEntry.card_id == card.id))
    voided = session.get(WalletPass, old_pass.id)
    assert voided is not None and voided.voided_number == old_number
    assert voided.version == old_version + 1  # pushed: the old phone learns it is void
    new_pass = live_pass(session, card.id)
    assert new_pass.id != old_pass.id and new_pass.serial_number != old_pass.serial_number
    old_content = cards.content_of(session, fresh, services.templates, voided)
    assert old_content.voided and fresh.number not in old_content.barcode
    assert not cards.content_of(session, fresh, services.templates).voided
    [entry] = audits(session, "card.replaced")
    assert entry.details == {"old_number": old_number, "reason": "телефон украден"}
    # The till: the old code and the old typed number are refused with their own code.
    for code in (old_barcode, old_number):
        refused = client.get(f"/api/pos/v1/cards/{code}", headers=till)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "card_replaced", code
    new_barcode = cards.content_of(session, fresh, services.templates).barcode
    looked = client.get(f"/api/pos/v1/cards/{new_barcode}", headers=till)
    assert looked.status_code == 200 and looked.json["balance"] == balance
    # The old card page link is gone; the page shows the new number and the history.
    assert client.get(f"/c/{old_public}").status_code == 404
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "R-1" in page and "новый номер" in page


def test_block_and_unblock(
    client: FlaskClient, session: Session, services: Services, card: Card
) -> None:
    console_login(client, session, services, "admin")
    assert post(client, card, "block", blocked="1", reason="").status_code == 422
    assert post(client, card, "block", blocked="1", reason="карта утеряна").status_code == 303
    session.expire_all()
    assert session.get(Card, card.id).status == "blocked"  # type: ignore[union-attr]
    assert cards.content_of(session, session.get(Card, card.id), services.templates).voided  # type: ignore[arg-type]
    assert post(client, card, "block", blocked="0", reason="нашлась").status_code == 303
    session.expire_all()
    assert session.get(Card, card.id).status == "active"  # type: ignore[union-attr]
    assert [a.action for a in audits(session, "card.blocked") + audits(session, "card.active")] == [
        "card.blocked",
        "card.active",
    ]


def test_change_phone_normalises_refuses_taken_and_audits_masked(
    client: FlaskClient, session: Session, services: Services, demo: Program, card: Card
) -> None:
    enrol(session, services, demo, "Другой", "+79169998877")
    console_login(client, session, services, "store_manager")
    bad = post(client, card, "phone", phone="12", reason="сменил номер")
    assert bad.status_code == 422 and "Это не номер телефона" in bad.get_data(as_text=True)
    taken = post(client, card, "phone", phone="8 (916) 999-88-77", reason="сменил номер")
    assert taken.status_code == 422 and "уже у другого" in taken.get_data(as_text=True)
    done = post(client, card, "phone", phone="8 (916) 111-22-33", reason="сменил номер")
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Member, card.member_id).phone == "+79161112233"  # type: ignore[union-attr]
    [entry] = audits(session, "member.phone_changed")
    assert entry.details == {"old": "…0000", "new": "…2233", "reason": "сменил номер"}


def test_merge_moves_points_with_their_expiry_and_blocks_the_duplicate(
    client: FlaskClient, session: Session, services: Services, demo: Program, card: Card
) -> None:
    duplicate = enrol(session, services, demo, "Надя Смирнова", "+79165550000")
    ledger.award(
        session,
        duplicate.id,
        points=300,
        kind="bonus",
        now=services.clock.now(),
        valid_days=30,
        reference="test",
        idempotency_key="test:merge",
    )
    session.commit()
    lot_expiry = session.scalar(
        select(LedgerEntry.expires_at).where(LedgerEntry.card_id == duplicate.id)
    )
    console_login(client, session, services, "admin")
    assert post(client, card, "merge", other=card.number, reason="дубль").status_code == 422
    assert post(client, card, "merge", other="0000", reason="дубль").status_code == 422
    done = post(client, card, "merge", other=duplicate.number, reason="одна и та же покупательница")
    assert done.status_code == 303
    session.expire_all()
    kept, gone = session.get(Card, card.id), session.get(Card, duplicate.id)
    assert kept is not None and gone is not None
    assert (kept.balance, gone.balance) == (300, 0)
    assert (gone.status, gone.merged_into_id) == ("blocked", kept.id)
    moved = session.scalars(
        select(LedgerEntry).where(LedgerEntry.card_id == kept.id, LedgerEntry.points > 0)
    ).one()
    assert moved.expires_at == lot_expiry and moved.reference == f"merge:{gone.number}"
    [entry] = audits(session, "member.merged")
    assert entry.details == {
        "merged": gone.number,
        "points": 300,
        "reason": "одна и та же покупательница",
    }
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "перенесено баллов — 300" in page and gone.number in page
    again = post(client, card, "merge", other=gone.number, reason="ещё раз")
    assert again.status_code == 422 and "уже объединена" in again.get_data(as_text=True)


def test_send_link_says_which_setting_is_missing_then_sends_by_sms(
    client: FlaskClient, session: Session, services: Services, card: Card, request: Any
) -> None:
    console_login(client, session, services, "store_manager")
    off = post(client, card, "send-link")
    assert off.status_code == 422
    assert "WALLETPASS_SMS_PROVIDER" in off.get_data(as_text=True)
    wired: Channels = request.getfixturevalue("channels")
    done = post(client, card, "send-link")
    assert done.status_code == 303
    assert run_invite_tasks(services)["sent"] == 1
    [sms] = wired.sms.sent
    assert sms.number == "79161230000" and f"/c/{card.public_id}" in sms.text
    invite = session.scalars(select(Invite)).one()
    assert (invite.source, invite.channel) == ("console", "sms")
    [entry] = audits(session, "card.link_sent")
    assert entry.details == {"channel": "sms"}


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("tier", {"tier": "large_family", "reason": "документ"}),
        ("block", {"blocked": "1", "reason": "утеряна"}),
        ("replace", {"reason": "украдена"}),
        ("phone", {"phone": "+79160001122", "reason": "новый"}),
        ("merge", {"other": "0", "reason": "дубль"}),
        ("send-link", {}),
    ],
)
def test_marketers_may_not_and_other_programs_are_not_found(
    client: FlaskClient,
    session: Session,
    services: Services,
    card: Card,
    action: str,
    data: dict[str, str],
) -> None:
    console_login(client, session, services, "marketer")
    page = client.get(f"/console/cards/{card.number}?program=demo").get_data(as_text=True)
    assert 'id="card-care"' not in page
    assert post(client, card, action, **data).status_code == 403
    # A store manager of another program: the card is not found.
    other = seed_demo(session, services.clock)
    other.slug = "north"
    session.flush()
    staff.add_user(
        session,
        services.clock,
        email="north@example.com",
        name="North",
        role="store_manager",
        password="correct horse battery",
        actor="test",
        programs=[other],
    )
    session.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
    login = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "email": "north@example.com",
            "password": "correct horse battery",
        },
    )
    home = client.get("/console/members?program=north").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)  # type: ignore[union-attr]
    response = client.post(
        f"/console/cards/{card.number}/{action}",
        data={"csrf_token": token, "program": "demo", **data},
    )
    assert response.status_code == 404
    assert audits(session, "card.tier_set") == [] and audits(session, "card.replaced") == []
