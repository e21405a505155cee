"""Issue 18, item 7: on /join an enrolled shopper asks for their card link again. It
goes to their phone, never onto the page; the answer is the same for any number; the
asking is limited per phone and per address."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, Program
from app.messaging.models import Invite
from app.services import enrollment
from tests.invite_helpers import Channels, channels, run_invite_tasks
from tests.web.test_join_form import csrf_from

__all__ = ["channels"]
RU = {"Accept-Language": "ru"}


def ask(client: FlaskClient, phone: str, addr: str = "198.51.100.7") -> tuple[int, str]:
    token = csrf_from(client.get("/join/demo", headers=RU).get_data(as_text=True))
    response = client.post(
        "/join/demo/link",
        data={"csrf_token": token, "phone": phone},
        headers=RU,
        environ_base={"REMOTE_ADDR": addr},
    )
    return response.status_code, response.get_data(as_text=True)


def test_the_link_goes_to_the_phone_and_the_answer_does_not_tell_who_is_enrolled(
    client: FlaskClient, session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    form = enrollment.EnrollmentForm(name="Мария", phone="+79112223344", consent=True)
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    # The "already enrolled" answer offers the form with the phone filled in.
    token = csrf_from(client.get("/join/demo", headers=RU).get_data(as_text=True))
    again = client.post(
        "/join/demo",
        data={"csrf_token": token, "name": "Мария", "phone": "8 911 222-33-44", "consent": "on"},
        headers=RU,
    )
    assert again.status_code == 409 and 'id="link-form"' in again.get_data(as_text=True)

    known = ask(client, "8 (911) 222-33-44")
    unknown = ask(client, "8 (911) 999-00-00")
    assert known[0] == unknown[0] == 200
    assert "ссылка на неё уже отправлена" in known[1]
    assert known[1].replace(csrf_from(known[1]), "") == unknown[1].replace(
        csrf_from(unknown[1]), ""
    )
    assert card.public_id not in known[1] and card.number not in known[1]
    assert run_invite_tasks(services)["sent"] == 1
    [sms] = channels.sms.sent
    assert sms.number == "79112223344" and f"/c/{card.public_id}" in sms.text
    invite = session.scalars(select(Invite)).one()
    assert (invite.source, invite.channel, invite.card_id) == ("site", "sms", card.id)
    bad = ask(client, "12")
    assert bad[0] == 422


def test_asking_is_limited_per_phone_and_per_address(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    codes = [ask(client, "+7 911 222-33-44", addr=f"198.51.100.{i}")[0] for i in range(4)]
    assert codes == [200, 200, 200, 429]  # three a day for one phone, from any address
    codes = [ask(client, f"+7 911 000-00-{i:02d}", addr="203.0.113.9")[0] for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429  # ten an hour from one address
    assert session.scalar(select(func.count()).select_from(Card)) == 0
