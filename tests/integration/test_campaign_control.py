"""Campaigns done safely, in the services: cancel mid-send, end dates, triggers switched
off and on, birthday triggers around the birthday, reach only on cards in a wallet."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleRegistration, WalletPass
from app.services import campaign_control, campaigns
from app.staff.models import AuditEntry
from app.worker import handlers
from tests.helpers import fixed_clock, population


def draft(**overrides: object) -> campaigns.Draft:
    values: dict[str, object] = {
        "name": "Spring",
        "offer_en": "",
        "offer_ru": "−20 % до 15 декабря",
        "segment": {},
        "holdout_percent": 0,
    }
    values.update(overrides)
    return campaigns.Draft(**values)  # type: ignore[arg-type]


def offers(session: Session) -> dict[int, str | None]:
    session.expire_all()
    return dict(session.execute(select(Card.id, Card.offer_ru)).all())  # type: ignore[arg-type]


def test_a_draft_sends_nothing_until_confirmed_and_a_russian_offer_is_enough(
    session: Session, services: Services, demo: Program
) -> None:
    population(session, services, demo, 6)
    services.queue.huey.flush()
    campaign = campaigns.create(session, services.clock, demo, draft(), "test", confirm_first=True)
    session.commit()
    assert campaign.status == "draft" and campaign.offer_en == ""
    assert campaigns.start_due(session, services.clock, services.queue) == []
    check = campaign_control.confirmation(session, services.clock, campaign)
    assert (check.audience, check.in_wallet, check.holdout, check.holdout_too_small) == (
        6,
        6,
        0,
        True,
    )
    campaign_control.confirm(session, services.clock, services.queue, campaign, "test")
    session.commit()
    assert campaign.status == "sending"
    assert [t.name for t in services.queue.huey.pending()] == ["run_campaign"]
    handlers.run_campaign(services, campaign.id)
    session.expire_all()
    # The English reader's card shows the Russian text rather than nothing.
    card = session.scalars(select(Card)).first()
    assert card is not None and card.offer("en") == "−20 % до 15 декабря"
    with pytest.raises(campaign_control.StateError):
        campaign_control.confirm(session, services.clock, services.queue, campaign, "test")


def test_the_english_offer_is_required_for_an_english_program(
    session: Session, services: Services, demo: Program
) -> None:
    demo.default_locale = "en"
    with pytest.raises(ValidationError) as refused:
        campaigns.create(session, services.clock, demo, draft(), "test")
    assert set(refused.value.fields) == {"offer_en"}


def test_cancel_mid_send_applies_no_further_chunk(
    session: Session, services: Services, demo: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    population(session, services, demo, 12)
    monkeypatch.setattr(campaigns, "CHUNK", 5)
    campaign = campaigns.create(session, services.clock, demo, draft(), "test")
    session.commit()
    with services.transaction() as s:
        campaigns.select_targets(s, services.clock, campaign.id)
    with services.transaction() as s:  # one chunk went out, then the marketer cancels
        campaigns.apply_chunk(s, services.clock, campaign.id, campaigns.next_chunk(s, campaign.id))
    with services.transaction() as s:
        running = s.get(Campaign, campaign.id)
        assert running is not None
        assert campaign_control.cancel(s, services.clock, running, "marketer@x.test") == 7
    assert handlers.run_campaign(services, campaign.id) == 0  # the worker finds nothing left
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "cancelled"  # type: ignore[union-attr]
    offered = [cid for cid, offer in offers(session).items() if offer]
    assert len(offered) == 5  # the first chunk keeps its offer
    skipped = session.scalars(
        select(CampaignTarget.skipped).where(CampaignTarget.skipped.is_not(None))
    )
    assert list(skipped) == ["cancelled"] * 7
    assert session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "campaign.cancelled")
    ).one()
    with pytest.raises(campaign_control.StateError):
        campaign_control.cancel(session, services.clock, session.get(Campaign, campaign.id), "x")  # type: ignore[arg-type]


def test_a_campaign_cancelled_before_the_worker_picks_no_targets(
    session: Session, services: Services, demo: Program
) -> None:
    population(session, services, demo, 4)
    campaign = campaigns.create(session, services.clock, demo, draft(), "test")
    campaign.status = "sending"
    campaign_control.cancel(session, services.clock, campaign, "test")
    session.commit()
    assert handlers.run_campaign(services, campaign.id) == 0
    assert not session.scalar(select(func.count()).select_from(CampaignTarget))
    assert not any(offers(session).values())


def test_the_end_date_takes_the_offer_off_the_cards_and_pushes(
    session: Session, services: Services, demo: Program
) -> None:
    cards = population(session, services, demo, 4)
    demo.frequency_cap_days = 0  # the later campaign may reach the same card
    ends = services.clock.now() + timedelta(days=2)
    campaign = campaigns.create(session, services.clock, demo, draft(ends_at=ends), "test")
    session.commit()
    handlers.run_campaign(services, campaign.id)
    # A later campaign replaced the offer on one card: that one stays.
    fixed_clock(services).advance(hours=1)
    later = campaigns.create(
        session,
        services.clock,
        demo,
        draft(name="Later", offer_ru="Новое", segment={"stages": ["at_risk"]}),
        "test",
    )
    session.commit()
    handlers.run_campaign(services, later.id)
    versions = dict(session.execute(select(WalletPass.card_id, WalletPass.version)).all())  # type: ignore[arg-type]
    assert campaign_control.clear_ended(session, services.clock) == []  # not yet
    fixed_clock(services).advance(days=1, hours=23, seconds=1)
    services.queue.huey.flush()
    handlers.start_due_campaigns(services)
    shown = offers(session)
    assert shown[cards[0].id] == "Новое"  # cards[0] is at risk: the later campaign's offer
    assert [shown[c.id] for c in cards[1:]] == [None, None, None]
    after = dict(session.execute(select(WalletPass.card_id, WalletPass.version)).all())  # type: ignore[arg-type]
    assert [after[c.id] - versions[c.id] for c in cards] == [0, 1, 1, 1]
    pushed = [t for t in services.queue.huey.pending() if t.name == "deliver_passes"]
    assert pushed, "the cleared cards are pushed after the commit"
    assert handlers.start_due_campaigns(services) == []  # cleared once
    assert session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "campaign.ended")
    ).one()


def test_triggers_switch_off_and_on_and_birthdays_fire_days_before(
    session: Session, services: Services, demo: Program
) -> None:
    cards = population(session, services, demo, 1)
    member = session.get(Member, cards[0].member_id)
    assert member is not None
    today = date(2026, 3, 14)  # the test clock's day in Moscow
    member.birthday = date(1990, 3, 17)  # in three days
    trigger = campaigns.create(
        session,
        services.clock,
        demo,
        draft(name="Birthday", trigger="birthday", trigger_days=-3),
        "test",
        confirm_first=True,
    )
    session.commit()
    assert trigger.status == "stopped"  # created switched off
    assert campaign_control.fire_birthdays(session, services.clock, demo, today) == 0
    campaign_control.resume(session, services.clock, trigger, "test")
    assert (
        campaign_control.fire_birthdays(session, services.clock, demo, today - timedelta(days=1))
        == 0
    )
    campaign_control.pause(session, services.clock, trigger, "test")
    assert campaign_control.fire_birthdays(session, services.clock, demo, today) == 0
    campaign_control.resume(session, services.clock, trigger, "test")
    assert campaign_control.fire_birthdays(session, services.clock, demo, today) == 1
    assert campaign_control.fire_birthdays(session, services.clock, demo, today) == 0  # once a year
    session.commit()
    assert offers(session)[cards[0].id] == "−20 % до 15 декабря"
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == f"campaign:{trigger.id}")
    )
    assert list(actions) == [
        "campaign.drafted",
        "campaign.resumed",
        "campaign.paused",
        "campaign.resumed",
    ]
    with pytest.raises(ValidationError) as refused:
        campaign_control.edit_trigger(
            session, services.clock, trigger, draft(name="B", trigger_days=45), "test"
        )
    assert set(refused.value.fields) == {"trigger_days"}


def test_reach_counts_only_cards_in_a_wallet(
    session: Session, services: Services, demo: Program
) -> None:
    cards = population(session, services, demo, 4)
    passes = select(WalletPass.id).where(WalletPass.card_id.in_([c.id for c in cards[:3]]))
    session.execute(delete(AppleRegistration).where(AppleRegistration.pass_id.in_(passes)))
    campaign = campaigns.create(session, services.clock, demo, draft(), "test")
    session.commit()
    handlers.run_campaign(services, campaign.id)
    # Pretend APNs delivered every pass: only the one card in a wallet counts as reached.
    session.execute(WalletPass.__table__.update().values(apns_delivered_version=WalletPass.version))
    session.commit()
    progress = campaigns.progress(session, session.get(Campaign, campaign.id))  # type: ignore[arg-type]
    assert (progress.applied, progress.in_wallet, progress.pushed, progress.percent) == (
        4,
        1,
        1,
        100,
    )
