"""The app's access log: route templates, request ids, JSON lines."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import logs
from app.bootstrap import Services
from app.loyalty.models import Program


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(logs.RequestIdFilter())
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(saved)


@pytest.fixture
def behind_proxy(services: Services) -> Iterator[Flask]:
    from app.web import create_app

    saved = services.settings
    services.settings = dataclasses.replace(saved, trusted_proxies=1)
    try:
        yield create_app(services=services)
    finally:
        services.settings = saved


def test_each_request_is_one_json_line_naming_its_route_template(
    client: FlaskClient, demo: Program, json_lines: Lines
) -> None:
    response = client.get("/join/demo")
    assert response.status_code == 200
    rid = response.headers["X-Request-Id"]
    assert len(rid) == 16
    client.get("/no/such/page")
    access = [line for line in json_lines.lines if line["logger"] == "walletpass.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("GET", "/join/<slug>", 200),
        ("GET", "<unmatched>", 404),
    ]
    first = access[0]
    assert first["request_id"] == rid and first["level"] == "INFO"
    assert first["message"].startswith("GET /join/<slug> 200 ")  # type: ignore[union-attr]
    assert isinstance(first["duration_ms"], float) and "time" in first
    assert access[1]["request_id"] != rid


def test_a_record_logged_inside_a_request_carries_its_id(
    app: Flask, client: FlaskClient, json_lines: Lines
) -> None:
    @app.get("/test-only/log")
    def _log() -> str:
        logging.getLogger("app.some.module").warning("inside")
        return "ok"

    rid = client.get("/test-only/log").headers["X-Request-Id"]
    logging.getLogger("app.some.module").warning("outside")
    inside, outside = (line for line in json_lines.lines if line["logger"] == "app.some.module")
    assert inside["request_id"] == rid
    assert "request_id" not in outside


def test_a_request_id_is_taken_only_from_a_trusted_proxy_and_only_when_plain(
    client: FlaskClient, behind_proxy: Flask, demo: Program
) -> None:
    proxied = behind_proxy.test_client()
    sent = "5f0c3a7e-1b2d-4c3e-9a8b-7c6d5e4f3a2b"
    assert proxied.get("/join/demo", headers={"X-Request-Id": sent}).headers["X-Request-Id"] == sent
    for bad in ("two words", "x" * 65, "id<script>", "Ñ-id", "/c/abc"):
        got = proxied.get("/join/demo", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert got != bad and len(got) == 16
    # Without a trusted proxy any client could choose its id: ours is made here.
    assert client.get("/join/demo", headers={"X-Request-Id": sent}).headers["X-Request-Id"] != sent


def test_json_lines_keep_the_traceback_of_an_exception(json_lines: Lines) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("app.worker").exception("failed")
    line = json_lines.lines[-1]
    assert line["level"] == "ERROR" and line["message"] == "failed"
    assert "ValueError: boom" in str(line["exception"])
