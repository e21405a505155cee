"""Lifecycle thresholds, quiet hours and the frequency cap, set in the console."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
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
    }
    bad = client.post(
        "/console/programs/demo/rules",
        data={"csrf_token": token, **values, "lost_after_days": "50", "quiet_end_hour": "25"},
    )
    assert bad.status_code == 422
    assert 'id="quiet_end_hour-error"' in bad.get_data(as_text=True)
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
