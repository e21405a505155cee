"""POST /passkit/v1/log: Wallet's messages are kept, bounded, and explained."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.passes.models import AppleDeviceLog
from app.services import passkit

LINE = (
    "Get pass task (pass type pass.test, serial number Xy12, if-modified-since (null); with web "
    "service url https://wallet.example.test/passkit) encountered error: Unexpected response "
    "code 401"
)


def test_logs_are_stored_with_a_reason(client: FlaskClient, session: Session) -> None:
    response = client.post("/passkit/v1/log", json={"logs": [LINE, "x" * 5000]})
    assert response.status_code == 200
    rows = passkit.recent_logs(session)
    assert [r.reason for r in rows] == ["other", "http_401"]
    assert rows[1].serial_number == "Xy12"
    assert len(rows[0].message) == 2000  # each message is bounded


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"logs": "one string"}}, 400),
        ({"json": {"logs": [1, 2]}}, 400),
        ({"json": {}}, 400),
        ({"data": "nope", "content_type": "application/json"}, 400),
        ({"json": {"logs": ["x"] * 101}}, 400),
        ({"json": {"logs": ["x" * 70_000]}}, 413),
    ],
)
def test_bad_log_bodies_are_refused_and_store_nothing(
    client: FlaskClient, session: Session, kwargs: dict[str, Any], status: int
) -> None:
    assert client.post("/passkit/v1/log", **kwargs).status_code == status
    assert session.scalar(select(func.count()).select_from(AppleDeviceLog)) == 0


def test_old_messages_are_dropped_beyond_the_bound(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passkit, "MAX_LOG_ROWS", 5)
    for i in range(4):
        client.post("/passkit/v1/log", json={"logs": [f"m{i}a", f"m{i}b"]})
    messages = [r.message for r in passkit.recent_logs(session)]
    assert messages == ["m3b", "m3a", "m2b", "m2a", "m1b"]
