"""Console pages for segments and campaigns: live size, validation, launch, roles, progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget
from app.loyalty.models import Program
from app.services import campaigns, staff, terminals
from app.services.jobs import all_programs
from app.staff.models import AuditEntry
from app.worker import handlers
from tests.helpers import START, fixed_clock, population, sale

PASSWORD = "correct horse battery"
MARKETER = "marketer@example.com"  # add_staff(…, "marketer")


def add_staff(session: Session, services: Services, role: str) -> str:
    email = f"{role.replace('_', '-')}@example.com"
    staff.add_user(
        session,
        services.clock,
        email=email,
        name=role.title(),
        role=role,
        password=PASSWORD,
        actor="cli",
        programs=all_programs(session),
    )
    session.commit()
    return email


def csrf_of(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def log_in(client: FlaskClient, session: Session, services: Services, role: str) -> None:
    sign_in(client, add_staff(session, services, role))


def sign_in(client: FlaskClient, email: str) -> None:
    response = client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(client, "/console/login"),
            "email": email,
            "password": PASSWORD,
        },
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 303
    client.get("/console/?lang=en")  # the pages in English from here on


def form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "program": "demo",
        "name": "Win back",
        "offer_en": "-20 % on everything this week",
        "offer_ru": "-20 % на всё на этой неделе",
        "bonus_points": "0",
        "bonus_days": "",
        "holdout_percent": "20",
        "stages": ["at_risk"],
        "send": "now",
    }
    values.update(overrides)
    return values


def post_campaign(client: FlaskClient, *, confirm: bool = True, **overrides: Any) -> Any:
    """The form sent, then (``confirm``) its confirmation page's button pressed."""
    data = form(**overrides)
    if "csrf_token" not in data:
        data["csrf_token"] = csrf_of(client, "/console/campaigns/new?program=demo")
    response = client.post("/console/campaigns", data=data, headers={"Accept-Language": "en"})
    location = response.headers.get("Location", "")
    if not confirm or response.status_code != 303 or not location.endswith("/confirm"):
        return response
    token = csrf_of(client, location)
    return client.post(location, data={"csrf_token": token}, headers={"Accept-Language": "en"})


def campaign_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Campaign)) or 0)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True)).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def marketer(client: FlaskClient, session: Session, services: Services, demo: Program) -> Program:
    log_in(client, session, services, "marketer")
    return demo


def test_the_segment_size_counts_what_the_filters_match(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    population(session, services, marketer, 40)

    def size(query: str) -> Any:
        return client.get(f"/console/segments/size?program=demo{query}")

    assert size("").get_json() == {"size": 40}
    assert size("&stages=at_risk").get_json() == {"size": 10}
    assert size("&wallet=apple").get_json() == {"size": 40}  # all registered on an iPhone
    assert size("&stages=at_risk&stages=active").get_json() == {"size": 40}
    assert size("&birthday_month=3").get_json() == {"size": 4}
    assert size("&stages=at_risk&wallet=none").get_json() == {"size": 0}
    assert size("&min_spend=1").get_json() == {"size": 0}
    assert size("&max_spend=0").get_json() == {"size": 40}
    refused = size("&min_spend=lots&stages=vip&no_purchase_for_days=-3")
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {
        "segment.min_spend",
        "segment.stages",
        "segment.no_purchase_for_days",
    }
    assert client.get("/console/segments/size?program=nope").status_code == 404


def test_the_segments_page_counts_without_javascript(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    population(session, services, marketer, 12)
    page = client.get("/console/segments?program=demo&stages=at_risk&lang=en")
    assert page.status_code == 200
    assert re.search(r'id="segment-size" data-segment-size>3<', page.get_data(as_text=True))
    assert "/console/campaigns/new?program=demo&amp;stages=at_risk" in page.get_data(as_text=True)
    wrong = client.get("/console/segments?program=demo&last_purchase_within_days=soon")
    assert wrong.status_code == 422
    assert 'data-error-for="segment.last_purchase_within_days">Enter a whole number' in text(wrong)


def test_invalid_campaigns_show_every_error_and_create_nothing(
    client: FlaskClient, session: Session, marketer: Program
) -> None:
    response = post_campaign(
        client, name="", offer_en="x" * 201, holdout_percent="many", min_spend="lots"
    )
    assert response.status_code == 422
    page = text(response)
    for field in ("name", "offer_en", "holdout_percent", "segment.min_spend"):
        assert re.search(rf'data-error-for="{re.escape(field)}">\w', page), field
    assert 'value="lots"' in page and "-20 % на всё на этой неделе" in page  # input kept
    # Numbers that parse but the domain refuses:
    refused = post_campaign(client, holdout_percent="80", bonus_points="-5", stages=["vip"])
    assert refused.status_code == 422
    assert 'data-error-for="segment.stages">Choose from the list.' in text(refused)
    again = post_campaign(client, holdout_percent="80", bonus_points="5")
    assert 'data-error-for="holdout_percent">From 0 to 50 %.' in text(again)
    assert campaign_count(session) == 0
    assert "campaign.scheduled" not in session.scalars(select(AuditEntry.action)).all()


def test_send_now_starts_the_campaign_and_leaves_the_fan_out_to_the_worker(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    population(session, services, marketer, 20)
    services.queue.huey.flush()
    response = post_campaign(client, holdout_percent="12.5", bonus_points="100", bonus_days="14")
    assert response.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    assert response.headers["Location"] == f"/console/campaigns/{campaign.id}"
    assert (campaign.holdout_bp, campaign.send_at, campaign.status) == (1250, START, "sending")
    assert (campaign.bonus_points, campaign.bonus_days) == (100, 14)
    assert campaign.segment == {"stages": ["at_risk"]} and campaign.created_by.startswith("mark")
    pending = [(t.name, t.args) for t in services.queue.huey.pending()]
    assert pending == [("run_campaign", (campaign.id,))]
    # The request did not pick targets: that is the worker's job.
    assert not session.scalar(select(func.count()).select_from(CampaignTarget))
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "campaign.drafted" in actions and "campaign.confirmed" in actions


def test_a_send_time_is_read_in_the_program_time_zone_and_moved_out_of_quiet_hours(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    services.queue.huey.flush()
    response = post_campaign(client, send="at", send_at="2026-03-20T10:00")
    assert response.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.send_at == datetime(2026, 3, 20, 7, 0, tzinfo=UTC)  # Moscow is UTC+3
    assert campaign.status == "scheduled"
    assert not [t for t in services.queue.huey.pending() if t.name == "run_campaign"]
    page = client.get(response.headers["Location"])
    assert "Scheduled for 2026-03-20 10:00 (Europe/Moscow)" in text(page)
    assert 'data-progress-url="/console/campaigns/' in text(page)  # polls until it is sent

    late = post_campaign(client, name="Night owl", send="at", send_at="2026-03-20T23:15")
    night = session.scalars(select(Campaign).where(Campaign.name == "Night owl")).one()
    assert night.send_at == datetime(2026, 3, 21, 6, 0, tzinfo=UTC)
    shown = text(client.get(late.headers["Location"]))
    assert "Quiet hours: the campaign will be sent at 2026-03-21 09:00 (Europe/Moscow)." in shown

    past = post_campaign(client, name="Too late", send="at", send_at="2026-03-01T12:00")
    assert past.status_code == 422 and "This time is in the past." in text(past)
    assert post_campaign(client, send="at", send_at="").status_code == 422


def test_send_now_during_quiet_hours_waits_for_the_morning(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    fixed_clock(services).advance(hours=12)  # 00:30 in Moscow
    sign_in(client, MARKETER)  # the session idled out meanwhile
    services.queue.huey.flush()
    assert "quiet-now" in client.get("/console/campaigns/new?program=demo").get_data(as_text=True)
    assert post_campaign(client).status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.status == "scheduled"
    assert campaign.send_at == datetime(2026, 3, 15, 6, 0, tzinfo=UTC)
    assert not list(services.queue.huey.pending())


def test_a_missing_csrf_token_is_refused_and_the_input_kept(
    client: FlaskClient, session: Session, marketer: Program
) -> None:
    response = post_campaign(client, csrf_token="", name="Spring sale")
    assert response.status_code == 400
    assert 'value="Spring sale"' in text(response)
    assert "The form has expired" in text(response)
    assert campaign_count(session) == 0


def test_store_managers_see_the_dashboard_but_no_campaign_page(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "store_manager")
    campaign = campaigns.create(
        session,
        services.clock,
        demo,
        campaigns.Draft("X", "x", "x", {}),
        "test",
    )
    session.commit()
    for path in (
        "/console/segments",
        "/console/segments/size?program=demo",
        "/console/campaigns",
        "/console/campaigns/new",
        f"/console/campaigns/{campaign.id}",
        f"/console/campaigns/{campaign.id}/progress.json",
    ):
        assert client.get(path).status_code == 403, path
    assert post_campaign(client, csrf_token=csrf_of(client, "/console/")).status_code == 403
    assert client.get("/console/dashboard").status_code == 200
    home = client.get("/console/").get_data(as_text=True)
    assert "/console/dashboard" in home and "/console/campaigns" not in home


def test_pages_need_a_login(client: FlaskClient, demo: Program) -> None:
    for path in ("/console/segments", "/console/campaigns", "/console/dashboard"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/console/login")


def test_progress_report_and_list_of_a_sent_campaign(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    population(session, services, marketer, 40)
    assert post_campaign(client, holdout_percent="30").status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    before = client.get(f"/console/campaigns/{campaign.id}/progress.json").get_json()
    assert before["status"] == "sending" and before["percent"] == 0
    handlers.run_campaign(services, campaign.id)
    progress = client.get(f"/console/campaigns/{campaign.id}/progress.json").get_json()
    assert set(progress) == {
        "status",
        "status_text",
        "targets",
        "holdout",
        "skipped",
        "applied",
        "pushed",
        "in_wallet",
        "accepted",
        "failed",
        "pruned",
        "sendable",
        "percent",
        "live",
    }
    assert progress["status"] == "sent" and progress["targets"] == 10
    assert progress["applied"] == progress["sendable"] == 10 - progress["holdout"]
    assert progress["pushed"] == 0 and progress["percent"] == 0  # phones not told yet
    assert progress["live"] is True  # so the page keeps watching
    assert client.get("/console/campaigns/999999/progress.json").status_code == 404

    # Targeted cards buy for 1 000.00, held-out ones for 600.00 within the 14 days.
    terminal = terminals.add_terminal(session, services.clock, marketer, "T")[0]
    targets = session.scalars(select(CampaignTarget)).all()
    for i, target in enumerate(targets):
        amount = 60_000 if target.holdout else 100_000
        session.add(sale(terminal, f"r{i}", START + timedelta(days=2), amount, target.card_id))
    session.commit()
    page = text(client.get(f"/console/campaigns/{campaign.id}?lang=en"))
    assert "Report: 14 days after the start" in page
    assert (
        "Each targeted card brought 400.00 ₽ more than a held-out one "
        "(95 % CI 400.00–400.00 ₽)." in page
    )
    assert "data-progress-url" in page  # sent, but the pushes are still owed
    fixed_clock(services).advance(hours=2)
    sign_in(client, MARKETER)
    assert "data-progress-url" not in text(client.get(f"/console/campaigns/{campaign.id}"))
    listing = text(client.get("/console/campaigns"))
    assert "Win back" in listing and "sent" in listing


def test_a_campaign_without_holdout_says_the_uplift_cannot_be_measured(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    population(session, services, marketer, 8)
    assert post_campaign(client, holdout_percent="0").status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    handlers.run_campaign(services, campaign.id)
    page = text(client.get(f"/console/campaigns/{campaign.id}"))
    assert "There is no holdout, so the uplift cannot be measured." in page
    assert client.get("/console/campaigns/424242").status_code == 404


def test_the_console_filters_by_bought_lines_and_offers_a_size_with_a_fallback(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    from app.till.models import ReceiptLine

    cards = population(session, services, marketer, 3)
    terminal = terminals.add_terminal(session, services.clock, marketer, "T")[0]
    receipt = sale(terminal, "r1", START - timedelta(days=3), 1000, cards[0].id)
    session.add(receipt)
    session.flush()
    session.add(
        ReceiptLine(
            receipt_pk=receipt.id,
            card_id=cards[0].id,
            created_at=receipt.created_at,
            category="dresses",
            size="110",
            quantity=1,
        )
    )
    session.commit()

    def size(query: str) -> Any:
        return client.get(f"/console/segments/size?program=demo{query}")

    assert size("&bought_category=dresses&bought_days=7").get_json() == {"size": 1}
    assert size("&bought_category=dresses&bought_days=2").get_json() == {"size": 0}
    assert size("&not_bought_size=110").get_json() == {"size": 2}
    refused = size("&bought_days=7")  # days alone name no goods
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"segment.bought"}
    missing = post_campaign(
        client, stages=[], offer_en="Dresses in {size}", offer_ru="Платья {size}"
    )
    assert missing.status_code == 422
    page = text(missing)
    assert 'data-error-for="offer_fallback_en">Needed when the offer names {size}' in page
    done = post_campaign(
        client,
        stages=[],
        bought_category="dresses",
        offer_en="Dresses in {size}",
        offer_ru="Платья {size}",
        offer_fallback_en="New dresses",
        offer_fallback_ru="Новые платья",
        size_category="dresses",
    )
    assert done.status_code == 303
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.segment == {"bought": [{"category": "dresses"}]}
    assert (campaign.offer_fallback_ru, campaign.size_category) == ("Новые платья", "dresses")
    assert "Bought: category dresses" in text(
        client.get(f"/console/campaigns/{campaign.id}", headers={"Accept-Language": "en"})
    )
