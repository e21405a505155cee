"""Invites seen from outside: enrolling at the till (discount on the same receipt, the
link by SMS), the link's open counted, and the funnel in the staff API."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Card, Member, Program
from app.messaging.models import Invite
from app.services import installs, staff, terminals
from tests.invite_helpers import Channels, channels, run_invite_tasks

__all__ = ["channels"]


def till_key(session: Session, services: Services, program: Program) -> dict[str, str]:
    _, key = terminals.add_terminal(session, services.clock, program, "Till 1")
    session.commit()
    return {"Authorization": f"Bearer {key}"}


def staff_token(session: Session, services: Services) -> dict[str, str]:
    user = staff.add_user(
        session,
        services.clock,
        email="analyst@example.com",
        name="Analyst",
        role="marketer",
        password="a long enough passphrase",
        actor="test",
    )
    token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_enrolling_at_the_till_gives_the_discount_on_the_same_receipt_and_sends_the_link(
    client: FlaskClient, session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    headers = till_key(session, services, demo)
    enrolled = client.post(
        "/api/pos/v1/enrollments",
        json={"phone": "8 (916) 555-44-33", "consent": True, "send_invite": True},
        headers=headers,
    )
    assert enrolled.status_code == 201, enrolled.json
    body = enrolled.json
    assert body is not None and body["invite"] == "sent"
    assert set(body["card"]) == {"number", "barcode"}
    bought = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-1", "amount": 250_000, "barcode": body["card"]["barcode"]},
        headers=headers,
    )
    assert bought.status_code == 201
    assert bought.json is not None and bought.json["discount_amount"] == 17_500
    assert bought.json["card_number"] == body["card"]["number"]
    assert run_invite_tasks(services)["sent"] == 1
    [sms] = channels.sms.sent
    assert sms.number == "79165554433"
    card = session.scalars(select(Card).where(Card.number == body["card"]["number"])).one()
    assert f"/c/{card.public_id}?i=" in sms.text
    invite = session.scalars(select(Invite)).one()
    assert (invite.source, invite.channel, invite.status) == ("till", "sms", "sent")
    member = session.get(Member, card.member_id)
    assert member is not None and member.name == "" and not member.marketing_consent

    # The same phone again: 409 without a word about the existing card.
    again = client.post(
        "/api/pos/v1/enrollments",
        json={"phone": "+79165554433", "name": "Anna", "consent": True},
        headers=headers,
    )
    assert again.status_code == 409
    assert body["card"]["number"] not in again.get_data(as_text=True)


def test_till_enrollment_answers_off_and_not_requested_and_checks_its_fields(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    headers = till_key(session, services, demo)
    off = client.post(
        "/api/pos/v1/enrollments",
        json={"phone": "+79160000001", "consent": True, "send_invite": True},
        headers=headers,
    )
    assert off.status_code == 201 and off.json is not None and off.json["invite"] == "off"
    not_asked = client.post(
        "/api/pos/v1/enrollments", json={"phone": "+79160000002", "consent": True}, headers=headers
    )
    assert not_asked.json is not None and not_asked.json["invite"] == "not_requested"
    bad = client.post(
        "/api/pos/v1/enrollments",
        json={"phone": "12", "consent": False, "send_invite": "yes", "email": "x"},
        headers=headers,
    )
    assert bad.status_code == 422
    fields = bad.json["error"]["fields"]  # type: ignore[index]
    # The shape first (the phone's validity is the domain's, checked once the shape is right).
    assert set(fields) == {"consent", "send_invite", "email"}
    bad_phone = client.post(
        "/api/pos/v1/enrollments", json={"phone": "12", "consent": True}, headers=headers
    )
    assert bad_phone.status_code == 422 and set(bad_phone.json["error"]["fields"]) == {"phone"}  # type: ignore[index]
    assert client.post("/api/pos/v1/enrollments", json={"phone": "+79160000003"}).status_code == 401
    assert session.scalar(select(Invite.id)) is None


def test_an_invited_member_opening_installing_and_buying_shows_in_every_funnel_step(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    channels: Channels,
    clock: FixedClock,
) -> None:
    demo.invite_on_enroll = True
    session.commit()
    # Enrolled on the site (JSON API) with a marketing consent: the link goes at once.
    client.post(
        "/api/v1/programs/demo/enrollments",
        json={
            "name": "Anna",
            "phone": "+79161234567",
            "consent": True,
            "marketing_consent": True,
        },
    )
    member = session.scalars(select(Member)).one()
    assert member.marketing_consent and member.marketing_consent_source == "api"
    assert member.marketing_consent_text is not None and member.marketing_consent_at is not None
    run_invite_tasks(services)
    [sms] = channels.sms.sent
    link = re.search(r"https://wallet\.example\.test(/c/\S+)", sms.text).group(1)  # type: ignore[union-attr]
    api = staff_token(session, services)

    def steps() -> dict[str, int]:
        answer = client.get("/api/v1/programs/demo/invites/funnel", headers=api).json
        assert answer is not None
        [row] = answer["rows"]
        assert (row["channel"], row["source"]) == ("sms", "site")
        assert answer["total"]["sent"] == row["sent"]
        return {k: row[k] for k in ("sent", "opened", "installed", "first_purchase")}

    assert steps() == {"sent": 1, "opened": 0, "installed": 0, "first_purchase": 0}
    clock.advance(minutes=5)
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200  # a second open counts once
    assert steps() == {"sent": 1, "opened": 1, "installed": 0, "first_purchase": 0}
    clock.advance(minutes=5)
    card = session.scalars(select(Card)).one()
    installs.record_install(session, services.clock, card.id, "apple")
    session.commit()
    assert steps() == {"sent": 1, "opened": 1, "installed": 1, "first_purchase": 0}
    clock.advance(days=2)
    from app.loyalty import rules

    client.post(
        "/api/pos/v1/purchases",
        json={
            "receipt_id": "R-9",
            "amount": 100_000,
            "barcode": rules.barcode_value(card.number, card.barcode_secret),
        },
        headers=till_key(session, services, demo),
    )
    assert steps() == {"sent": 1, "opened": 1, "installed": 1, "first_purchase": 1}
    # A period before the invite shows nothing.
    old = client.get(
        "/api/v1/programs/demo/invites/funnel?from=2025-01-01&to=2025-02-01", headers=api
    ).json
    assert old is not None and old["rows"] == [] and old["total"]["sent"] == 0
    assert clock.now() - timedelta(days=3) < card.apple_installed_at  # type: ignore[operator]


def test_a_wrong_tag_on_the_card_page_counts_nothing(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    from app.services import invites

    client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Anna", "phone": "+79161234567", "consent": True},
    )
    card = session.scalars(select(Card)).one()
    invite = invites.add(session, services.clock, services.queue, card, "sms", "console")
    session.commit()
    assert client.get(f"/c/{card.public_id}?i=not-{invite.token}").status_code == 200
    session.expire_all()
    assert session.get(Invite, invite.id).opened_at is None  # type: ignore[union-attr]


def test_the_join_form_records_the_marketing_consent_and_the_unsubscribe_page_withdraws_it(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    page = client.get("/join/demo").get_data(as_text=True)
    assert 'name="marketing_consent"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post(
        "/join/demo",
        data={
            "csrf_token": token,
            "name": "Anna",
            "phone": "+79161234567",
            "consent": "on",
            "marketing_consent": "on",
        },
    )
    member = session.scalars(select(Member)).one()
    assert member.marketing_consent and member.marketing_consent_source == "site"
    from app.services import invites

    invite = invites.add(session, services.clock, services.queue, member.card, "email", "console")
    session.commit()
    assert "Отписаться" in client.get(f"/u/{invite.token}").get_data(as_text=True)
    session.expire_all()
    assert session.get(Member, member.id).marketing_consent  # type: ignore[union-attr]
    # The mail client's one-click POST (RFC 8058).
    done = client.post(f"/u/{invite.token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    session.expire_all()
    assert not session.get(Member, member.id).marketing_consent  # type: ignore[union-attr]
    assert client.post("/u/unknown", data={"List-Unsubscribe": "One-Click"}).status_code == 404
