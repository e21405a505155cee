"""Console actions of safe campaigns: the confirmation page, cancel, triggered campaigns
created switched off, switched on and off, edited; validation, audit, roles and scope."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import campaigns
from app.services.programs import seed_demo
from app.staff.models import AuditEntry
from tests.helpers import population
from tests.web.test_console_campaigns import csrf_of, log_in, post_campaign, text


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    data.setdefault("csrf_token", csrf_of(client, "/console/"))
    return client.post(path, data=data, headers={"Accept-Language": "en"})


def trigger_form(**overrides: Any) -> dict[str, Any]:
    values = {
        "program": "demo",
        "trigger": "birthday",
        "name": "Birthday week",
        "offer_ru": "С днём рождения! −15 % всю неделю",
        "offer_en": "",
        "bonus_points": "200",
        "bonus_days": "14",
        "holdout_percent": "10",
        "trigger_days": "-3",
        "ends_at": "",
    }
    values.update(overrides)
    return values


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_launch_shows_the_confirmation_and_sends_nothing_before_it(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "marketer")
    population(session, services, demo, 14)
    services.queue.huey.flush()
    created = post_campaign(client, confirm=False, holdout_percent="20", offer_en="", stages=[])
    assert created.status_code == 303 and created.headers["Location"].endswith("/confirm")
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.status == "draft" and not list(services.queue.huey.pending())
    page = text(client.get(created.headers["Location"]))
    assert "14 cards match the segment" in page
    assert "14 of them are in a wallet" in page
    assert "about 3" in page  # 20 % of 14
    assert 'id="holdout-warning"' in page and "fewer than 100 cards" in page
    assert "/console/programs/demo/preview/apple.png?" in page and "offer_ru=" in page
    confirmed = post(client, created.headers["Location"])
    assert confirmed.status_code == 303
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "sending"  # type: ignore[union-attr]
    assert [t.name for t in services.queue.huey.pending()] == ["run_campaign"]
    assert actions(session)[-2:] == ["campaign.drafted", "campaign.confirmed"]
    # A second press does not send it twice.
    again = post(client, created.headers["Location"])
    assert "cannot be done in the campaign" in text(client.get(again.headers["Location"]))


def test_a_draft_can_be_discarded_and_a_scheduled_campaign_cancelled(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "marketer")
    post_campaign(client, confirm=False)
    draft = session.scalars(select(Campaign)).one()
    assert post(client, f"/console/campaigns/{draft.id}/cancel").status_code == 303
    later = post_campaign(client, name="Later", send="at", send_at="2026-03-20T12:00")
    scheduled = session.scalars(select(Campaign).where(Campaign.name == "Later")).one()
    assert scheduled.status == "scheduled"
    assert 'id="cancel"' in text(client.get(later.headers["Location"]))
    post(client, f"/console/campaigns/{scheduled.id}/cancel")
    session.expire_all()
    assert [c.status for c in session.scalars(select(Campaign).order_by(Campaign.id))] == [
        "cancelled",
        "cancelled",
    ]
    assert actions(session).count("campaign.cancelled") == 2
    # Nothing left to cancel, and the form needs its token.
    refused = post(client, f"/console/campaigns/{scheduled.id}/cancel")
    assert "cannot be done" in text(client.get(refused.headers["Location"]))
    assert post(client, f"/console/campaigns/{draft.id}/cancel", csrf_token="").status_code == 303
    assert actions(session).count("campaign.cancelled") == 2


def test_a_birthday_trigger_is_created_off_switched_on_edited_and_off(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "marketer")
    listing = text(client.get("/console/campaigns"))
    assert "/console/campaigns/new?program=demo&amp;trigger=birthday" in listing
    form_page = text(client.get("/console/campaigns/new?program=demo&trigger=birthday"))
    assert 'name="trigger_days"' in form_page and "(optional)" in form_page
    assert client.get("/console/campaigns/new?program=demo&trigger=nope").status_code == 404
    bad = post(client, "/console/campaigns", **trigger_form(trigger_days="-45", offer_ru=""))
    assert bad.status_code == 422
    assert 'data-error-for="trigger_days">From -30 to 30 days.' in text(bad)
    assert 'data-error-for="offer_ru">Enter the offer' in text(bad)
    created = post(client, "/console/campaigns", **trigger_form())
    trigger = session.scalars(select(Campaign)).one()
    assert (trigger.trigger, trigger.trigger_days, trigger.status) == ("birthday", -3, "stopped")
    page = text(client.get(created.headers["Location"]))
    assert "Created switched off" in page and 'id="switch-on"' in page
    assert "/preview/google.png?" in page
    post(client, f"/console/campaigns/{trigger.id}/resume")
    session.expire_all()
    assert trigger.status == "active"
    edit = f"/console/campaigns/{trigger.id}/edit"
    assert 'value="-3"' in text(client.get(edit))
    invalid = post(client, edit, **trigger_form(holdout_percent="80"))
    assert invalid.status_code == 422 and "From 0 to 50 %." in text(invalid)
    saved = post(client, edit, **trigger_form(trigger_days="2", ends_at="2026-12-31T23:00"))
    assert saved.status_code == 303
    post(client, f"/console/campaigns/{trigger.id}/pause")
    session.expire_all()
    assert (trigger.trigger_days, trigger.status) == (2, "stopped")
    assert trigger.ends_at is not None and trigger.ends_at.hour == 20  # Moscow is UTC+3
    assert actions(session)[-4:] == [
        "campaign.drafted",
        "campaign.resumed",
        "campaign.edited",
        "campaign.paused",
    ]


def test_store_managers_get_403_and_other_programs_404(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    demo.slug = "north"  # so that seeding makes a second program
    session.flush()
    other = seed_demo(session, services.clock)
    assert other.id != demo.id
    mine = campaigns.create(session, services.clock, demo, campaigns.Draft("M", "m", "m", {}), "t")
    theirs = campaigns.create(
        session, services.clock, other, campaigns.Draft("T", "t", "t", {}), "t"
    )
    session.commit()
    log_in(client, session, services, "store_manager")
    for action in ("confirm", "cancel", "pause", "resume", "edit"):
        assert post(client, f"/console/campaigns/{mine.id}/{action}").status_code == 403
    assert client.get(f"/console/campaigns/{mine.id}/confirm").status_code == 403
    client.post("/console/logout", data={"csrf_token": csrf_of(client, "/console/")})
    # A marketer of the demo program only: the other program's campaign does not exist.
    from app.services import staff

    staff.add_user(
        session,
        services.clock,
        email="demo-marketer@example.com",
        name="D",
        role="marketer",
        password="correct horse battery",
        actor="cli",
        programs=[demo],
    )
    session.commit()
    client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(client, "/console/login"),
            "email": "demo-marketer@example.com",
            "password": "correct horse battery",
        },
    )
    for action in ("confirm", "cancel", "pause", "resume", "edit"):
        assert post(client, f"/console/campaigns/{theirs.id}/{action}").status_code == 404
    assert client.get(f"/console/campaigns/{theirs.id}/edit").status_code == 404
    session.expire_all()
    assert session.get(Campaign, theirs.id).status == "scheduled"  # type: ignore[union-attr]
