"""The invite funnel as a CSV file, linked from the dashboard's funnel panel: one row per
channel and source for the period, then the total."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.messaging.models import Invite
from app.services import invites
from tests.integration.test_invites import member
from tests.web.test_console_campaigns import log_in

MARCH = "program=demo&from=2026-03-01&to=2026-03-31"


def invite(
    session: Session, demo: Program, n: int, channel: str, source: str, **extra: object
) -> None:
    card = member(session, demo, n, email=f"m{n}@example.test")
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    session.add(
        Invite(
            token=invites.new_token(),
            program_id=demo.id,
            member_id=card.member_id,
            card_id=card.id,
            channel=channel,
            source=source,
            status=str(extra.pop("status", "sent")),
            due_at=at,
            attempts=1,
            created_at=at,
            sent_at=at,
            **extra,
        )
    )


def test_the_funnel_csv_has_a_row_per_channel_and_source_and_a_total(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    opened = datetime(2026, 3, 11, tzinfo=UTC)
    invite(session, demo, 1, "sms", "import", opened_at=opened)
    invite(session, demo, 2, "sms", "import")
    invite(session, demo, 3, "email", "console")
    invite(session, demo, 4, "sms", "site", status="failed")  # not sent: not in the funnel
    session.commit()
    log_in(client, session, services, "marketer")
    page = client.get(f"/console/dashboard?{MARCH}").get_data(as_text=True)
    assert f'id="invite-funnel-csv" href="/console/dashboard/invites.csv?{MARCH}' in page.replace(
        "&amp;", "&"
    )
    response = client.get(f"/console/dashboard/invites.csv?{MARCH}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="invite-funnel-demo-2026-03-01-2026-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        [
            "period_start",
            "period_end",
            "channel",
            "source",
            "sent",
            "opened",
            "installed",
            "first_purchase",
        ],
        ["2026-03-01", "2026-03-31", "sms", "import", "2", "1", "0", "0"],
        ["2026-03-01", "2026-03-31", "email", "console", "1", "0", "0", "0"],
        ["2026-03-01", "2026-03-31", "all", "all", "3", "1", "0", "0"],
    ]
    april = client.get("/console/dashboard/invites.csv?program=demo&from=2026-04-01&to=2026-04-30")
    assert april.get_data(as_text=True).splitlines()[1:] == [
        "2026-04-01,2026-04-30,all,all,0,0,0,0"
    ]
    assert client.get("/console/dashboard/invites.csv?program=demo&from=x").status_code == 422
    # The dashboard CSV keeps its shape (one row per week).
    weekly = client.get(f"/console/dashboard.csv?{MARCH}").get_data(as_text=True)
    assert weekly.splitlines()[0].startswith("week_start,week_end,receipts,")
