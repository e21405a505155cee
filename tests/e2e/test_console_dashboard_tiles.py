"""The dashboard's figures fit their tiles at a chain's size, in Russian, and its tables
keep their headings apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.services import terminals
from app.services.programs import seed_demo
from tests.e2e.conftest import LiveServer, add_staff, sign_in
from tests.helpers import sale


def test_a_chains_revenue_fits_its_tile(live_server: LiveServer, browser_page: Any) -> None:
    services = live_server.services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        add_staff(session, services, "irina@example.ru", "Ирина", "marketer")
        terminal = terminals.add_terminal(session, services.clock, program, "Касса 1")[0]
        now = services.clock.now()
        for i in range(100):  # a month of a 300-store chain: 9 500 000 000,00 ₽
            at = now - timedelta(days=1 + i % 20, hours=2)
            session.add(sale(terminal, f"r{i}", at, 9_500_000_000, None, None))

    page = browser_page
    sign_in(page, live_server.url, "irina@example.ru", lang="ru")
    page.goto(f"{live_server.url}/console/dashboard?lang=ru")
    page.wait_for_selector("#kpis")
    assert page.inner_text("#kpi-revenue").replace("\u202f", " ").replace("\xa0", " ") == (
        "9 500 000 000,00 ₽"
    )
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('#kpis dd')]
             .filter(dd => dd.scrollWidth > dd.parentElement.clientWidth)
             .map(dd => dd.id)"""
    )
    assert clipped == []
    # Each table's heading stands clear of the table above it, not touching it.
    cramped = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap + h3, .chart-box + h3')]
             .filter(h => h.getBoundingClientRect().top
                          - h.previousElementSibling.getBoundingClientRect().bottom < 12)
             .map(h => h.textContent.trim())"""
    )
    assert cramped == []
