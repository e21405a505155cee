"""Consents recorded with their text version and source; campaigns and triggers only for
members with a marketing consent; retention of device logs and the audit log."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import CampaignTarget
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDeviceLog
from app.services import campaigns, consents, installs
from app.services.staff import audit
from app.settings import Settings
from app.staff.models import AuditEntry
from app.worker import handlers
from tests.conftest import make_settings
from tests.helpers import fixed_clock, population
from tests.integration.test_campaigns import draft


def test_the_join_form_records_both_consents_with_the_text_shown(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    page = client.get("/join/demo").get_data(as_text=True)
    assert consents.PROGRAM.texts["ru"] in page or consents.PROGRAM.texts["en"] in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/join/demo",
        data={
            "csrf_token": token,
            "name": "Vera",
            "phone": "+7 916 300-00-01",
            "consent": "on",
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 303
    member = session.scalars(select(Member)).one()
    assert (member.consent_source, member.consent_text) == ("site", consents.PROGRAM.version)
    assert member.consent_at is not None
    assert member.marketing_consent_source == "site"
    assert member.marketing_consent_text == consents.MARKETING.version


def test_a_changed_wording_is_a_new_version() -> None:
    changed = consents.ConsentText("program", {**consents.PROGRAM.texts, "en": "Other words"})
    assert changed.version != consents.PROGRAM.version
    assert consents.PROGRAM.version.startswith("program-")
    assert consents.TEXTS[consents.MARKETING.version] is consents.MARKETING


def test_campaigns_and_triggers_skip_members_without_a_marketing_consent(
    session: Session, services: Services, demo: Program
) -> None:
    cards = population(session, services, demo, 8)
    refused = {c.id for c in cards[:3]}
    for card in cards[:3]:
        card.member.marketing_consent = False
    session.commit()
    now = services.clock.now()
    assert campaigns.segment_size(session, demo, {}, now) == 5
    campaign = campaigns.create(
        session, services.clock, demo, draft(segment={}, holdout_percent=0), "test"
    )
    session.commit()
    handlers.run_campaign(services, campaign.id)
    targeted = set(
        session.scalars(
            select(CampaignTarget.card_id).where(CampaignTarget.campaign_id == campaign.id)
        )
    )
    assert len(targeted) == 5 and not targeted & refused

    welcome = campaigns.create(
        session,
        services.clock,
        demo,
        draft(name="Welcome", segment={}, holdout_percent=0, trigger="welcome"),
        "test",
    )
    session.commit()
    for card in (cards[1], cards[3]):  # odd cards are not installed yet
        installs.record_install(session, services.clock, card.id, "apple")
    session.commit()
    welcomed = set(
        session.scalars(
            select(CampaignTarget.card_id).where(CampaignTarget.campaign_id == welcome.id)
        )
    )
    assert welcomed == {cards[3].id}
    session.expire_all()
    assert session.get(Card, cards[1].id).offer_en is None  # type: ignore[union-attr]


def test_retention_settings_are_read_and_checked(tmp_path: object) -> None:
    from pathlib import Path

    import pytest

    from app.settings import SettingsError

    root = Path(str(tmp_path))
    settings: Settings = make_settings(
        root,
        WALLETPASS_DEVICE_LOG_RETENTION_DAYS="7",
        WALLETPASS_AUDIT_RETENTION_DAYS="365",
    )
    assert (settings.device_log_retention_days, settings.audit_retention_days) == (7, 365)
    with pytest.raises(SettingsError, match="WALLETPASS_AUDIT_RETENTION_DAYS"):
        make_settings(root, WALLETPASS_AUDIT_RETENTION_DAYS="5")
    with pytest.raises(SettingsError, match="WALLETPASS_DEVICE_LOG_RETENTION_DAYS"):
        make_settings(root, WALLETPASS_DEVICE_LOG_RETENTION_DAYS="soon")


def test_the_daily_job_deletes_device_logs_and_audit_entries_past_retention(
    session: Session, services: Services, demo: Program
) -> None:
    now = services.clock.now()
    keep_logs = services.settings.device_log_retention_days
    keep_audit = services.settings.audit_retention_days
    for age in (keep_logs + 1, keep_logs - 1):
        session.add(
            AppleDeviceLog(
                received_at=now - timedelta(days=age), reason="other", message=f"age {age}"
            )
        )
    for age in (keep_audit + 1, keep_audit - 1):
        fixed_clock(services).set(now - timedelta(days=age))
        audit(session, services.clock, "test", f"age.{age}")
    fixed_clock(services).set(now)
    session.commit()
    handlers.run_daily(services)
    session.expire_all()
    assert list(session.scalars(select(AppleDeviceLog.message))) == [f"age {keep_logs - 1}"]
    actions = set(session.scalars(select(AuditEntry.action)))
    assert f"age.{keep_audit - 1}" in actions and f"age.{keep_audit + 1}" not in actions
    assert session.scalar(select(func.count()).select_from(AppleDeviceLog)) == 1
