"""The cashier page in headless Chromium: sign in, scan by typing, sell, see the balance."""

from __future__ import annotations

from typing import Any

from app.loyalty import ledger
from app.services import enrollment, terminals
from app.services.programs import seed_demo
from tests.e2e.conftest import ARTIFACTS, LiveServer


def test_cashier_records_a_purchase_with_points(live_server: LiveServer, browser_page: Any) -> None:
    services = live_server.services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Elena Smirnova", phone="+79005551234", consent=True)
        card = enrollment.enroll(
            session,
            services.clock,
            program,
            enrollment.validate(form, program, services.clock.now().date()),
        )
        ledger.credit(
            session,
            card,
            points=500,
            kind="adjust",
            now=services.clock.now(),
            valid_days=None,
            reference="e2e",
        )
        _, key = terminals.add_terminal(session, services.clock, program, "Front till")
        barcode = f"{card.number}-{card.barcode_secret}"

    page = browser_page
    page.goto(f"{live_server.url}/pos")
    page.fill("#terminal-key", "wpt_wrong_key")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#message:not([hidden])")
    assert "not accepted" in page.inner_text("#message")

    page.fill("#terminal-key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#till:not([hidden])")
    assert "Front till" in page.inner_text("#terminal-name")

    # A hardware scanner types the code and presses Enter, exactly like this.
    page.fill("#amount", "1000")
    page.fill("#code", barcode)
    page.press("#code", "Enter")
    page.wait_for_selector("#card:not([hidden])")
    assert page.inner_text("#member-name") == "Elena Smirnova"
    assert page.inner_text("#discount") == "7 %"
    assert page.inner_text("#balance").replace("\u00a0", "").replace(",", "") == "500"
    assert "279" in page.inner_text("#redeem-max")

    page.fill("#redeem", "200")
    page.click("#record")
    page.wait_for_selector("#result:not([hidden])")
    # 1 000.00 - 7 % = 930.00; 200 points pay 200.00; 730.00 to pay; 36 points earned.
    assert page.inner_text("#r-discount") == "70.00"
    assert page.inner_text("#r-due") == "730.00"
    assert page.inner_text("#r-earned") == "36"
    assert page.inner_text("#r-balance") == "336"
    assert page.is_hidden("#purchase-form")
    assert page.inner_text("#balance") == "336"
    page.screenshot(path=str(ARTIFACTS / "cashier-page.png"), full_page=True)

    page.click("#next")
    page.wait_for_selector("#purchase-form:not([hidden])")
    assert page.input_value("#code") == "" and page.is_hidden("#card")
