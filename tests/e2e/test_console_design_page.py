"""The card design page in headless Chromium: the previews follow the colour picker
before anything is saved, and saving brings the notice back."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from app.loyalty.models import Program
from app.services.programs import seed_demo
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in


def test_a_marketer_recolours_the_card_and_sees_the_previews_follow(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    with services.transaction() as session:
        seed_demo(session, services.clock)
        add_staff(session, services, "mila@example.com", "Mila Orlova", "marketer")

    page = browser_page
    url = live_server.url
    sign_in(page, url, "mila@example.com")
    page.click("a[data-design=demo]")
    page.wait_for_selector("#design-form")

    apple, google = page.locator("#preview-apple"), page.locator("#preview-google")
    for image in (apple, google):
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") == 750
    assert page.locator("#preview-button").is_hidden()  # the script updates the images
    before = apple.get_attribute("src")

    page.fill("#background_color", "#0b6e4f")
    expect(apple).to_have_attribute("src", _containing("background_color=%230b6e4f"))
    expect(google).to_have_attribute("src", _containing("background_color=%230b6e4f"))
    assert apple.get_attribute("src") != before
    for image in (apple, google):
        page.wait_for_function(
            "img => img.complete && !img.hasAttribute('data-loading')", arg=image.element_handle()
        )
        assert image.evaluate("img => img.naturalWidth") == 750
    page.fill("#offer_en", "Two coffees for the price of one")
    expect(apple).to_have_attribute("src", _containing("offer_en=Two+coffees"))
    for image in (apple, google):
        page.wait_for_function(
            "img => img.complete && !img.hasAttribute('data-loading')", arg=image.element_handle()
        )
    page.screenshot(path=str(ARTIFACTS / "console-design.png"), full_page=True)

    page.click("#save")
    page.wait_for_selector("p.notice[role=status]")
    assert "cards on phones will update" in page.inner_text("p.notice[role=status]")
    assert page.input_value("#background_color") == "#0b6e4f"
    with services.transaction() as session:
        program = session.query(Program).filter_by(slug="demo").one()
        assert program.background_color == "#0B6E4F"
        assert program.offer_en == "Two coffees for the price of one"


def _containing(text: str) -> Any:
    import re

    return re.compile(re.escape(text))


def test_a_marketer_drafts_new_card_texts_checks_the_preview_then_publishes(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    with services.transaction() as session:
        seed_demo(session, services.clock)
        add_staff(session, services, "ira@example.com", "Ira Volkova", "marketer")
        program_id = session.query(Program).filter_by(slug="demo").one().id

    page = browser_page
    url = live_server.url
    sign_in(page, url, "ira@example.com", lang="en")
    page.click("a[data-texts=demo]")
    page.wait_for_selector("#texts-form")
    assert page.locator("#draft-none").is_visible()
    apple = page.locator("#draft-preview-apple")
    expect(apple).to_have_js_property("complete", True)
    assert apple.evaluate("img => img.naturalWidth") == 750  # a picture, not a broken image
    published_look = apple.screenshot()

    page.fill("input[name='label.balance.en']", "Bonus points")
    page.click("#save-draft")
    page.wait_for_selector("#draft-pending")
    assert "Label «Points» · English" in page.inner_text("#draft-pending")
    apple = page.locator("#draft-preview-apple")
    expect(apple).to_have_js_property("complete", True)
    assert apple.evaluate("img => img.naturalWidth") == 750
    assert apple.screenshot() != published_look  # the preview shows the draft
    page.screenshot(path=str(ARTIFACTS / "console-texts-draft.png"), full_page=True)
    with services.transaction() as session:
        program = session.get(Program, program_id)
        assert program is not None and program.card_texts is None  # not published yet

    page.click("#publish")
    page.wait_for_selector("#draft-none")
    assert "cards on phones will update" in page.inner_text("p.notice[role=status]")
    with services.transaction() as session:
        program = session.get(Program, program_id)
        assert program is not None
        assert program.card_texts == {"labels": {"balance": {"en": "Bonus points"}}, "back": {}}
