"""The console, the cashier page and the API docs run under a CSP without 'unsafe-inline':
their HTML carries no inline style or script, and the header says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from tests.web.test_console_campaigns import log_in

TEMPLATES = Path(__file__).parents[2] / "app" / "web" / "templates"
# The public join and card pages carry the program's colours in a style attribute.
BRANDED = {"join.html", "card.html"}
INLINE = re.compile(r"<style|\sstyle=|\son[a-z]+=|<script(?![^>]*\bsrc=)(?![^>]*application/json)")
PAGES = [
    "/console/",
    "/console/dashboard",
    "/console/members",
    "/console/segments",
    "/console/campaigns",
    "/console/campaigns/new",
    "/console/staff",
    "/console/programs/demo/design",
    "/console/programs/demo/images",
    "/console/programs/demo/rules",
    "/console/programs/demo/texts",
    "/console/programs/demo/stores",
    "/console/programs/demo/invites",
    "/console/programs/demo/webhooks",
    "/pos",
    "/api/docs",
]


def test_no_template_but_the_branded_pages_has_inline_style_or_script() -> None:
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        if path.name not in BRANDED
        for match in INLINE.finditer(path.read_text())
    ]
    assert offenders == []


@pytest.fixture
def admin(client: FlaskClient, session: Session, services: Services, demo: Program) -> None:
    log_in(client, session, services, "admin")


@pytest.mark.usefixtures("admin")
@pytest.mark.parametrize("path", PAGES)
def test_the_page_runs_under_a_csp_without_unsafe_inline(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, path
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert INLINE.findall(response.get_data(as_text=True)) == []


def test_the_join_page_keeps_its_brand_colours(client: FlaskClient, demo: Program) -> None:
    response = client.get("/join/demo")
    assert response.status_code == 200
    assert "style-src 'self' 'unsafe-inline'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
