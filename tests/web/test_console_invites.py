"""The console's invite page: channels on/off, options, a quoted campaign started;
the funnel table on the dashboard."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.messaging.models import InviteCampaign
from app.worker import invites as invite_worker
from tests.helpers import console_login, population
from tests.invite_helpers import Channels, channels, run_invite_tasks

__all__ = ["channels"]


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_without_settings_the_console_says_the_channels_are_off(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services)
    page = client.get("/console/programs/demo/invites").get_data(as_text=True)
    assert "WALLETPASS_SMS_PROVIDER не задана" in page  # the console speaks Russian by default
    assert "WALLETPASS_SMTP_URL не задана" in page
    answer = client.post(
        "/console/programs/demo/invites",
        data={
            "csrf_token": csrf(page),
            "name": "x",
            "channel": "sms",
            "wallet": "none",
            "daily_budget": "10",
            "per_minute": "5",
        },
    )
    assert answer.status_code == 422
    assert session.scalar(select(InviteCampaign.id)) is None


def test_a_marketer_quotes_starts_an_sms_campaign_and_sees_the_funnel(
    client: FlaskClient, session: Session, services: Services, demo: Program, channels: Channels
) -> None:
    population(session, services, demo, 6)  # all consented to marketing
    console_login(client, session, services)
    page = client.get("/console/programs/demo/invites").get_data(as_text=True)
    assert 'data-channel="sms">' in page and "WALLETPASS_SMS_PROVIDER" not in page
    token = csrf(page)
    saved = client.post(
        "/console/programs/demo/invites/options",
        data={"csrf_token": token, "invite_on_enroll": "on", "invite_interval_days": "45"},
    )
    assert saved.status_code == 303
    session.expire_all()
    assert demo.invite_on_enroll and demo.invite_interval_days == 45
    created = client.post(
        "/console/programs/demo/invites",
        data={
            "csrf_token": token,
            "name": "Base",
            "channel": "sms",
            "wallet": "",
            "daily_budget": "100",
            "per_minute": "50",
        },
    )
    assert created.status_code == 303
    campaign = session.scalars(select(InviteCampaign)).one()
    assert (campaign.status, campaign.estimated_recipients) == ("draft", 6)
    assert campaign.estimated_cost is not None and campaign.estimated_cost > 0
    assert channels.sms.sent == []  # quoted, not sent
    listed = client.get("/console/programs/demo/invites").get_data(as_text=True)
    assert "₽" in listed
    client.post(f"/console/programs/demo/invites/{campaign.id}/start", data={"csrf_token": token})
    assert invite_worker.tick(services) == 6
    run_invite_tasks(services)
    assert len(channels.sms.sent) == 6
    board = client.get("/console/dashboard?program=demo").get_data(as_text=True)
    assert 'data-funnel="sms-console"' in board and 'data-funnel="all-all"' in board


def test_the_dashboard_says_when_no_invites_were_sent(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services)
    board = client.get("/console/dashboard?program=demo&lang=en").get_data(as_text=True)
    assert 'id="invite-funnel"' in board
