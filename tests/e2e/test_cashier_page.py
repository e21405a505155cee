"""The cashier page in headless Chromium, in Russian: sign in with a key, find the card,
see the quote before anything is recorded, confirm, and refund from the recent receipts."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.loyalty import ledger
from app.services import enrollment, terminals
from app.services.programs import seed_demo
from app.till.models import Receipt
from tests.e2e.conftest import ARTIFACTS, LiveServer

NBSP = "\u00a0"


def rub(text: str) -> str:
    """``"1 338,00"`` as the console writes it in Russian: NBSP in thousands, then ₽."""
    return text.replace(" ", NBSP) + NBSP + "₽"


def seed(live_server: LiveServer) -> tuple[str, str, str]:
    services = live_server.services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Елена Смирнова", phone="+79005551234", consent=True)
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
        _, key = terminals.add_terminal(session, services.clock, program, "Касса 1")
        return key, f"{card.number}-{card.barcode_secret}", card.number


def receipts(live_server: LiveServer) -> int:
    with live_server.services.transaction() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def in_viewport(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_cashier_quotes_records_and_refunds_a_purchase_in_russian(
    live_server: LiveServer, browser_page: Any
) -> None:
    key, barcode, number = seed(live_server)
    page = browser_page
    page.goto(f"{live_server.url}/pos?lang=ru")
    page.fill("#terminal-key", "wpt_wrong_key")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.inner_text("#login-error") == "Ключ не подошёл."

    page.fill("#terminal-key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#till:not([hidden])")
    assert "Касса 1" in page.inner_text("#terminal-name")
    # Choosing the customer comes first; "no card" is a visible choice, not a default.
    assert page.is_visible("#no-card") and page.inner_text("#no-card") == "Без карты"
    assert page.is_hidden("#purchase-form")

    page.fill("#code", "1234567890123")
    page.press("#code", "Enter")
    page.wait_for_selector("#customer-error:not([hidden])")
    assert page.inner_text("#customer-error").startswith("Карта не найдена")

    # A hardware scanner types the code and presses Enter, exactly like this.
    page.fill("#code", barcode)
    page.press("#code", "Enter")
    page.wait_for_selector("#card:not([hidden])")
    assert page.is_hidden("#customer-error")
    assert page.inner_text("#member-name") == "Елена Смирнова"
    assert page.inner_text("#discount") == f"7{NBSP}%"
    assert page.inner_text("#balance") == "500"

    page.fill("#amount", "1338")
    page.click("#quote-button")
    page.wait_for_selector("#quote:not([hidden])")
    # 1 338,00 ₽ − 7 % (93,66 ₽) = 1 244,34 ₽; points may pay 30 % of it: 373.
    assert page.inner_text("#q-amount") == rub("1 338,00")
    assert page.inner_text("#q-discount") == "−" + rub("93,66")
    assert page.inner_text("#q-due") == rub("1 244,34")
    assert page.inner_text("#q-earned") == "62"
    assert page.is_hidden("#q-points-value")  # no points pay: no "−0,00 ₽" row
    assert page.is_visible("#redeem-label") and page.inner_text("#redeem-max") == "(до 373)"
    assert receipts(live_server) == 0  # a quote records nothing

    # A refusal in Russian, next to the button, in sight above the on-screen keyboard
    # (a phone with the keyboard open leaves about half the screen).
    page.fill("#redeem", "9999")
    assert page.is_hidden("#quote")  # the quote no longer matches what was typed
    page.set_viewport_size({"width": 400, "height": 430})
    page.click("#quote-button")
    page.wait_for_selector("#purchase-error:not([hidden])")
    assert page.inner_text("#purchase-error") == "Недостаточно баллов: на карте 500."
    assert in_viewport(page, "#purchase-error")
    page.screenshot(path=str(ARTIFACTS / "cashier-error-ru.png"))
    page.set_viewport_size({"width": 400, "height": 860})

    page.fill("#redeem", "200")
    page.click("#quote-button")
    page.wait_for_selector("#quote:not([hidden])")
    assert page.is_hidden("#purchase-error")
    assert page.is_visible("#q-points-label")
    assert page.inner_text("#q-points-value") == "−" + rub("200,00")
    assert page.inner_text("#q-due") == rub("1 044,34")
    assert page.inner_text("#q-balance-after") == "352"  # 500 − 200 + 52
    page.screenshot(path=str(ARTIFACTS / "cashier-quote-ru.png"), full_page=True)
    assert receipts(live_server) == 0

    page.click("#confirm")
    page.wait_for_selector("#result:not([hidden])")
    receipt_id = page.inner_text("#r-receipt")
    assert re.fullmatch(r"[0-9]{6}-[2-9A-HJ-NP-Z]{6}", receipt_id)
    assert page.inner_text("#r-due") == rub("1 044,34")
    assert page.inner_text("#r-balance") == "352" and page.inner_text("#balance") == "352"
    first = page.locator("#receipt-list li").first
    first.locator("text=" + receipt_id).wait_for()
    assert rub("1 338,00") in first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "cashier-recorded-ru.png"), full_page=True)
    assert receipts(live_server) == 1

    # Refund the whole receipt from the recent list.
    first.locator("button.refund-button").click()
    page.wait_for_selector("#refund-form:not([hidden])")
    assert page.inner_text("#refund-receipt") == receipt_id
    assert rub("1 338,00") in page.inner_text("#refund-left")
    page.click("#refund-confirm")
    page.wait_for_selector("#refund-result:not([hidden])")
    assert page.inner_text("#rf-money") == rub("1 044,34")
    assert page.inner_text("#rf-returned") == "200"
    assert page.inner_text("#rf-taken") == "52"
    assert page.inner_text("#rf-balance") == "500"
    assert page.inner_text("#balance") == "500"  # the card on screen is the refunded one
    page.locator("#receipt-list li").first.locator("text=возвращён").wait_for()
    page.screenshot(path=str(ARTIFACTS / "cashier-refund-ru.png"), full_page=True)

    # Next: a typed number (not scanned) is never offered points, though it has 500.
    page.click("#next")
    page.wait_for_selector("#customer-step:not([hidden])")
    page.fill("#code", number)
    page.press("#code", "Enter")
    page.wait_for_selector("#purchase-form:not([hidden])")
    page.fill("#amount", "1000")
    page.click("#quote-button")
    page.wait_for_selector("#quote:not([hidden])")
    assert page.is_hidden("#redeem-label")

    # And a sale without a card is an explicit choice, shown as such.
    page.click("#card .other-customer")
    page.click("#no-card")
    page.wait_for_selector("#no-card-box:not([hidden])")
    assert "без карты" in page.inner_text("#no-card-box").lower()
    page.fill("#amount", "500,5")
    page.click("#quote-button")
    page.wait_for_selector("#quote:not([hidden])")
    assert page.inner_text("#q-due") == rub("500,50")
    assert page.is_hidden("#redeem-label") and page.is_hidden("#q-earned")
    page.click("#confirm")
    page.wait_for_selector("#result:not([hidden])")
    # The recent list is fetched again after the sale: wait for it, do not race it.
    expect(page.locator("#receipt-list li").first).to_contain_text("без карты", timeout=15_000)


def test_cashier_page_speaks_english_too(live_server: LiveServer, browser_page: Any) -> None:
    key, barcode, _ = seed(live_server)
    page = browser_page
    page.goto(f"{live_server.url}/pos?lang=en")
    page.fill("#terminal-key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#till:not([hidden])")
    page.fill("#code", barcode)
    page.press("#code", "Enter")
    page.fill("#amount", "1338")
    page.click("#quote-button")
    page.wait_for_selector("#quote:not([hidden])")
    assert page.inner_text("#q-amount") == f"1,338.00{NBSP}₽"
    page.fill("#redeem", "400")
    page.click("#quote-button")
    page.wait_for_selector("#purchase-error:not([hidden])")
    assert page.inner_text("#purchase-error") == "Points may pay at most 373 of this purchase."
