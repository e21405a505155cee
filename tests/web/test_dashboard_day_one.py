"""Issue 18, item 8: the dashboard on day one — stage counts right after enrollment,
a note while the figures rest on too few receipts, receipts of tills in no store."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import enrollment
from tests.web.test_console_dashboard import MARCH, history, manager

__all__ = ["history", "manager"]


def stage_members(page: str, stage: str) -> str:
    row = re.search(rf'<tr data-stage="{stage}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, stage
    return re.findall(r'<td class="num">([^<]*)', row.group(1))[0]


def test_a_new_member_counts_as_a_newcomer_at_once_and_few_receipts_are_flagged(
    client: FlaskClient, session: Session, services: Services, demo: Program, manager: None
) -> None:
    before = client.get("/console/dashboard?program=demo").get_data(as_text=True)
    assert stage_members(before, "newcomer") == "0"
    form = enrollment.EnrollmentForm(name="Ольга", phone="+79161112233", consent=True)
    enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    # No hourly job has run: the stage was set by the enrollment itself.
    page = client.get("/console/dashboard?program=demo").get_data(as_text=True)
    assert stage_members(page, "newcomer") == "1"
    assert 'id="thin-note"' in page and "30" in page


def test_receipts_without_a_store_have_their_own_row(
    client: FlaskClient, history: None, manager: None
) -> None:
    page = client.get(f"/console/dashboard?{MARCH}").get_data(as_text=True)
    rows = dict(
        re.findall(r'<tr data-store="([^"]*)"[^>]*>\s*<th scope="row">([^<]*)</th>', page, re.S)
    )
    assert rows["x"] == "Store X"
    assert rows[""] in ("No store (till in no store)", "Без магазина (касса без магазина)")
    storeless = re.search(r'<tr data-store=""[^>]*>(.*?)</tr>', page, re.S)
    assert storeless and re.findall(r'<td class="num">([^<]*)', storeless.group(1))[0] == "6"
    # 7 receipts in March: fewer than 30, so the page says the figures mean little yet.
    assert 'id="thin-note"' in page
