"""Install invites through a fake SMS.ru gateway and a real SMTP server on loopback:
per-recipient errors, budget and throttle, quiet hours, consent, retries, the quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.db import new_public_id
from app.loyalty.models import Card, Member, Program
from app.messaging.models import Invite, InviteCampaign
from app.services import invite_campaigns, invites
from app.worker import invites as invite_worker
from tests.helpers import fixed_clock
from tests.invite_helpers import MAIL_FROM, Channels, channels, run_invite_tasks

__all__ = ["channels"]  # the fixture


def member(
    session: Session,
    program: Program,
    n: int,
    *,
    consent: bool = True,
    email: str | None = None,
    locale: str = "ru",
) -> Card:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    m = Member(
        program_id=program.id,
        phone=f"+7916{n:07d}",
        name=f"Member {n}",
        email=email,
        locale=locale,
        marketing_consent=consent,
        marketing_consent_at=now if consent else None,
        marketing_consent_source="import" if consent else None,
        created_at=now,
    )
    session.add(m)
    session.flush()
    card = Card(
        public_id=new_public_id(),
        program_id=program.id,
        member_id=m.id,
        number=f"9{n:012d}",
        barcode_secret="S" * 10,
        tier_id=program.default_tier.id,
        balance=0,
        status="active",
        created_at=now,
    )
    session.add(card)
    session.flush()
    return card


def campaign(
    session: Session,
    services: Services,
    program: Program,
    *,
    channel: str = "sms",
    budget: int = 1000,
    per_minute: int = 1000,
) -> InviteCampaign:
    draft = invite_campaigns.Draft(
        "Bring the base in", channel, {"wallet": "none"}, budget, per_minute
    )
    total, sample = invite_campaigns.audience(
        session, program, draft, services.clock.now(), services.settings.public_url
    )
    quote = invite_campaigns.price(services.messaging.sms, total, sample)
    created = invite_campaigns.create(session, services.clock, program, draft, quote, "test")
    invite_campaigns.start(session, services.clock, created, "test")
    session.commit()
    return created


def tick(services: Services) -> int:
    return invite_worker.tick(services)


def statuses(session: Session) -> dict[str, tuple[str, str | None]]:
    rows = session.execute(
        select(Member.phone, Invite.status, Invite.error).join(
            Member, Member.id == Invite.member_id
        )
    ).all()
    return {phone: (status, error) for phone, status, error in rows}


def test_sms_per_number_errors_are_recorded_and_the_others_sent(
    session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    cards = [member(session, demo, i) for i in range(3)]
    channels.sms.unreachable.add("79160000001")
    campaign(session, services, demo)
    assert tick(services) == 3
    assert run_invite_tasks(services) == {"sent": 2, "refused": 1, "retry": 0}
    session.expire_all()
    found = statuses(session)
    assert found["+79160000000"] == ("sent", None)
    assert found["+79160000002"] == ("sent", None)
    status, error = found["+79160000001"]
    assert status == "failed" and error is not None and error.startswith("207")
    # One gateway request for the three numbers; each text is that member's card link.
    assert channels.sms.requests[-1] == ("/sms/send", 3)
    texts = {d.number: d for d in channels.sms.sent}
    first = texts["79160000000"]
    token = session.scalar(select(Invite.token).where(Invite.card_id == cards[0].id))
    assert f"https://wallet.example.test/c/{cards[0].public_id}?i={token}" in first.text
    assert first.sender == "DemoClub"
    assert "79160000000" not in first.text.split("?i=")[1]  # the tag carries no phone


def test_budget_and_throttle_hold(
    session: Session, services: Services, demo: Program, channels: Channels, clock: FixedClock
) -> None:
    for i in range(7):
        member(session, demo, i)
    created = campaign(session, services, demo, budget=5, per_minute=2)
    assert tick(services) == 2
    clock.advance(seconds=30)
    assert tick(services) == 0  # the minute's two are used
    clock.advance(seconds=30)
    assert tick(services) == 2
    clock.advance(minutes=1)
    assert tick(services) == 1  # the day's budget of five is reached
    clock.advance(minutes=1)
    assert tick(services) == 0
    run_invite_tasks(services)
    assert len(channels.sms.sent) == 5
    # The next local day (Moscow, outside quiet hours) the last two go out.
    clock.set(datetime(2026, 3, 15, 7, 0, tzinfo=UTC))  # 10:00 in Moscow
    assert tick(services) == 2
    clock.advance(minutes=1)
    assert tick(services) == 0
    session.expire_all()
    assert session.get(InviteCampaign, created.id).status == "sent"  # type: ignore[union-attr]
    run_invite_tasks(services)
    assert len(channels.sms.sent) == 7
    assert len({d.number for d in channels.sms.sent}) == 7  # nobody twice


def test_quiet_hours_move_the_sending(
    session: Session, services: Services, demo: Program, channels: Channels, clock: FixedClock
) -> None:
    member(session, demo, 1)
    clock.set(datetime(2026, 3, 14, 19, 30, tzinfo=UTC))  # 22:30 in Moscow: quiet
    draft = invite_campaigns.Draft("Night", "sms", {}, 100, 100)
    created = invite_campaigns.create(
        session, services.clock, demo, draft, invite_campaigns.Quote(1, 450), "test"
    )
    begins = invite_campaigns.start(session, services.clock, created, "test")
    session.commit()
    assert begins == datetime(2026, 3, 15, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    assert tick(services) == 0
    clock.set(datetime(2026, 3, 15, 5, 59, tzinfo=UTC))
    assert tick(services) == 0
    assert channels.sms.sent == []
    clock.set(begins)
    assert tick(services) == 1
    run_invite_tasks(services)
    assert len(channels.sms.sent) == 1


def test_no_marketing_consent_no_invite(
    session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    member(session, demo, 1, consent=True)
    member(session, demo, 2, consent=False)
    created = campaign(session, services, demo)
    assert created.estimated_recipients == 1
    assert tick(services) == 1
    run_invite_tasks(services)
    assert [d.number for d in channels.sms.sent] == ["79160000001"]


def test_one_invite_per_member_per_interval(
    session: Session, services: Services, demo: Program, channels: Channels, clock: FixedClock
) -> None:
    member(session, demo, 1)
    campaign(session, services, demo)
    assert tick(services) == 1
    clock.advance(days=10)
    campaign(session, services, demo)  # a second campaign within the 30 days: nobody
    assert tick(services) == 0
    clock.advance(days=21)
    third = campaign(session, services, demo)
    assert third.estimated_recipients == 1
    assert tick(services) == 1


def test_the_quote_comes_from_the_gateway(
    session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    for i in range(3):
        member(session, demo, i)
    channels.sms.unreachable.add("79160000002")
    created = campaign(session, services, demo)
    assert created.estimated_recipients == 3
    # Two numbers the gateway accepts, each a two-part Cyrillic SMS (the link takes ~70
    # of 134 characters) at 4.50 ₽ a part; nothing was sent.
    assert created.estimated_cost == 2 * 2 * 450
    assert channels.sms.requests == [("/sms/cost", 3)]
    assert channels.sms.sent == []


def test_a_gateway_outage_is_retried_later(
    session: Session, services: Services, demo: Program, channels: Channels, clock: FixedClock
) -> None:
    member(session, demo, 1)
    campaign(session, services, demo)
    tick(services)
    channels.sms.fail_next(503)
    assert run_invite_tasks(services) == {"sent": 0, "refused": 0, "retry": 1}
    session.expire_all()
    invite = session.scalars(select(Invite)).one()
    assert (invite.status, invite.attempts, invite.error) == (
        "queued",
        1,
        "SMS.ru answered HTTP 503",
    )
    clock.advance(minutes=1)
    tick(services)  # not yet: the retry waits a minute, the sweep another
    assert run_invite_tasks(services)["sent"] == 0
    clock.advance(minutes=1)
    tick(services)
    assert run_invite_tasks(services)["sent"] == 1
    assert len(channels.sms.sent) == 1


def test_email_invites_over_real_smtp(
    session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    member(session, demo, 1, email="anna@example.test", locale="en")
    member(session, demo, 2, email="gone@example.test")
    member(session, demo, 3)  # no e-mail: not in an e-mail campaign
    channels.smtp.refused.add("gone@example.test")
    created = campaign(session, services, demo, channel="email")
    assert (created.estimated_recipients, created.estimated_cost) == (2, None)
    assert tick(services) == 2
    assert run_invite_tasks(services) == {"sent": 1, "refused": 1, "retry": 0}
    session.expire_all()
    found = statuses(session)
    assert found["+79160000002"][0] == "failed" and "550" in (found["+79160000002"][1] or "")
    [(to, message)] = channels.smtp.messages
    assert to == ["anna@example.test"]
    assert message["From"] == MAIL_FROM
    token = session.scalar(
        select(Invite.token)
        .join(Member, Member.id == Invite.member_id)
        .where(Member.email == "anna@example.test")
    )
    assert message["List-Unsubscribe"] == f"<https://wallet.example.test/u/{token}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = message.get_payload(decode=True) if not message.is_multipart() else None
    assert message.get_content_type() == "text/plain" and plain is not None
    assert "/c/" in plain.decode() and f"?i={token}" in plain.decode()


def test_an_unsubscribe_withdraws_the_marketing_consent(
    session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    card = member(session, demo, 1)
    invite = invites.add(session, services.clock, services.queue, card, "sms", "console")
    session.commit()
    assert invites.unsubscribe(session, services.clock, invite.token)
    session.commit()
    m = session.get(Member, card.member_id)
    assert m is not None and not m.marketing_consent
    assert m.marketing_consent_source == "unsubscribe" and m.marketing_consent_at is not None
    assert not invites.unsubscribe(session, services.clock, "unknown-token")
    assert (
        invite_campaigns.audience(
            session,
            demo,
            invite_campaigns.Draft("x", "sms", {}, 10, 10),
            services.clock.now() + timedelta(days=60),
            "https://x",
        )[0]
        == 0
    )


def test_a_campaign_and_its_funnel_on_both_databases(real_services: Services) -> None:
    """The recipients query, the claim (FOR UPDATE SKIP LOCKED) and the funnel SQL on
    SQLite and PostgreSQL through their real sessions."""
    from app.analytics.invites import funnel
    from app.bootstrap import build_messaging
    from app.fakes.sms import FakeSmsRu
    from app.messaging_settings import messaging_settings
    from app.services import installs
    from app.services.programs import seed_demo

    services = real_services
    services.queue.huey.flush()
    with FakeSmsRu().running() as gateway:
        services.messaging = build_messaging(messaging_settings(gateway.env()))
        with services.transaction() as session:
            program = seed_demo(session, services.clock)
            cards = [member(session, program, i, consent=i != 2) for i in range(4)]
            program_id, first = program.id, cards[0].id
            campaign(session, services, program)
        assert tick(services) == 3
        assert run_invite_tasks(services)["sent"] == 3
        assert len(gateway.sent) == 3
    with services.transaction() as session:
        session.execute(
            Invite.__table__.update()
            .where(Invite.card_id == first)
            .values(opened_at=services.clock.now())
        )
        fixed_clock(services).advance(minutes=1)
        installs.record_install(session, services.clock, first, "google")
    with services.transaction(write=False) as session:
        rows = funnel(
            session, program_id, services.clock.now() - timedelta(days=1), services.clock.now()
        )
    assert [(r.channel, r.source, r.sent, r.opened, r.installed, r.purchased) for r in rows] == [
        ("sms", "console", 3, 1, 1, 0),
        ("all", "all", 3, 1, 1, 0),
    ]
