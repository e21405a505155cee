"""End-to-end fixtures: the real app on a real HTTP server, and headless Chromium."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app.bootstrap import Services, build_services, upgrade_database
from app.clock import SystemClock
from app.settings import Settings
from tests.conftest import make_settings
from tests.helpers import require

PASSWORD = "correct horse battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    services: Services
    settings: Settings


@pytest.fixture
def live_server(tmp_path: Path, dev_chain: object) -> Iterator[LiveServer]:
    from app.web import create_app

    settings = make_settings(tmp_path, WALLETPASS_DATABASE_URL=f"sqlite:///{tmp_path / 'e2e.db'}")
    upgrade_database(settings.database_url)
    services = build_services(settings, clock=SystemClock())
    app = create_app(services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", services, settings)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        services.close()


@pytest.fixture
def browser_page() -> Iterator[object]:
    require("Debian's chromium", Path(CHROMIUM).exists(), "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 400, "height": 860}, locale="en-US")
        page = context.new_page()
        # Our CSP allows no inline style or script: a page that still has some would lose
        # it silently in a browser; Chromium says so on the console, and the test fails.
        refused: list[str] = []
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert refused == [], refused


def add_staff(session: Session, services: Services, email: str, name: str, role: str) -> None:
    """A staff member with the password ``PASSWORD`` (every program, unless an admin)."""
    from app.services import staff
    from app.services.jobs import all_programs

    programs = [] if role == "admin" else all_programs(session)
    staff.add_user(
        session,
        services.clock,
        email=email,
        name=name,
        role=role,
        password=PASSWORD,
        actor="test",
        programs=programs,
    )


def sign_in(page: Any, url: str, email: str, lang: str | None = None) -> None:
    """Log a staff member (password ``PASSWORD``) in to the console in ``page``."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}/console/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/console/login'] button[type=submit]")
    page.wait_for_url(f"{url}/console/")
