"""Lifecycle thresholds, quiet hours and the frequency cap, set in the console."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import program_rules
from app.staff.models import AuditEntry
from tests.helpers import console_login


def test_rules_are_validated_saved_and_audited(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "marketer")
    page = client.get("/console/programs/demo/rules").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    values = {
        "newcomer_days": "30",
        "at_risk_after_days": "60",
        "lost_after_days": "120",
        "quiet_start_hour": "22",
        "quiet_end_hour": "8",
        "frequency_cap_days": "3",
        "loyal_min_purchases": "5",
        "loyal_window_days": "180",
    }
    bad = client.post(
        "/console/programs/demo/rules",
        data={
            "csrf_token": token,
            **values,
            "lost_after_days": "50",
            "quiet_end_hour": "25",
            "loyal_min_purchases": "1",
        },
    )
    assert bad.status_code == 422
    assert 'id="quiet_end_hour-error"' in bad.get_data(as_text=True)
    assert 'id="loyal_min_purchases-error"' in bad.get_data(as_text=True)
    order = client.post(
        "/console/programs/demo/rules",
        data={"csrf_token": token, **values, "lost_after_days": "50"},
    )
    assert order.status_code == 422 and 'id="lost_after_days-error"' in order.get_data(as_text=True)
    done = client.post("/console/programs/demo/rules", data={"csrf_token": token, **values})
    assert done.status_code == 303
    session.expire_all()
    program = session.get(Program, demo.id)
    assert program is not None
    assert (program.newcomer_days, program.lost_after_days, program.frequency_cap_days) == (
        30,
        120,
        3,
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "program.rules_updated")
    ).one()
    assert entry.details is not None and entry.details["quiet_end_hour"] == 8
    # The loyal-buyer rule of the KPIs is one of them.
    assert (program.loyal_min_purchases, program.loyal_window_days) == (5, 180)
    assert (entry.details["loyal_min_purchases"], entry.details["loyal_window_days"]) == (5, 180)


ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/125.0 Mobile"
HUAWEI = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) Mobile"


def _apps_on_card_page(client: FlaskClient, path: str, agent: str) -> list[str]:
    html = client.get(path, headers={"User-Agent": agent}).get_data(as_text=True)
    return re.findall(r'data-app="([^"]+)"', html)


def test_the_android_wallet_app_order_is_validated_saved_audited_and_followed(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card_page = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Ольга", "phone": "+7 900 111-22-33", "consent": True},
    ).json["links"]["card_page"]  # type: ignore[index]
    path = card_page.removeprefix("https://wallet.example.test")
    console_login(client, session, services, "marketer")
    page = client.get("/console/programs/demo/rules", headers={"Accept-Language": "ru"})
    html = page.get_data(as_text=True)
    assert "Приложения для Android на странице карты" in html
    selected = re.findall(r'<option value="([a-z0-9_]+)" selected>', html)
    assert selected == ["walletunion", "walletpasses", "passwallet", "pass2u", "walletunion_hms"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    rules = {"csrf_token": token, **program_rules.form(demo)}

    def audited() -> int:
        return len(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "program.rules_updated")
            ).all()
        )

    for bad, message in [
        (["walletunion", "googlepay"], "unknown wallet app googlepay"),
        (["pass2u", "walletunion", "pass2u"], "each app may appear once: pass2u repeats"),
        (["", ""], "choose at least one wallet app"),
    ]:
        refused = client.post(
            "/console/programs/demo/rules", data={**rules, "android_wallet_apps": bad}
        )
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert 'id="android_wallet_apps-error"' in text and message in text
        session.expire_all()
        assert session.get(Program, demo.id).android_wallet_apps is None  # type: ignore[union-attr]
        assert audited() == 0
    assert _apps_on_card_page(client, path, ANDROID)[0] == "walletunion"

    done = client.post(
        "/console/programs/demo/rules",
        data={**rules, "android_wallet_apps": ["pass2u", "", "walletunion_hms", "walletunion"]},
    )
    assert done.status_code == 303
    session.expire_all()
    program = session.get(Program, demo.id)
    assert program is not None
    assert program.android_wallet_apps == ["pass2u", "walletunion_hms", "walletunion"]
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "program.rules_updated")
    ).one()
    assert entry.details == {"android_wallet_apps": ["pass2u", "walletunion_hms", "walletunion"]}
    assert _apps_on_card_page(client, path, ANDROID) == ["pass2u", "walletunion"]
    assert _apps_on_card_page(client, path, HUAWEI) == ["walletunion_hms", "pass2u", "walletunion"]
    # Saving the rules form again without changes writes nothing more to the audit log.
    again = client.post(
        "/console/programs/demo/rules",
        data={**rules, "android_wallet_apps": ["pass2u", "walletunion_hms", "walletunion"]},
    )
    assert again.status_code == 303 and audited() == 1
