"""Issue 18, in Russian: a marketer switches on a birthday trigger, runs a campaign
through its confirmation (audience, the card with the offer, the holdout warning) and
cancels another before the worker sends it. Screenshots in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from app.campaigns.models import Campaign
from app.services.programs import seed_demo
from app.worker import handlers
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in
from tests.e2e.test_console import _drain, population, quiet_hours_away_from_now


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"campaign-safety-{name}.png"), full_page=True)


def test_a_marketer_switches_on_a_birthday_trigger_confirms_one_campaign_and_cancels_another(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    huey = services.queue.huey
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        quiet_hours_away_from_now(program, services.clock.now())
        add_staff(session, services, "olga@example.com", "Ольга", "marketer")
        population(session, services, program)
    huey.flush()
    page, url = browser_page, live_server.url
    sign_in(page, url, "olga@example.com", lang="ru")

    # A birthday trigger, three days before the birthday, Russian offer only.
    page.goto(f"{url}/console/campaigns?lang=ru")
    page.click("#new-birthday-demo")
    page.wait_for_selector("#trigger-form")
    assert "необязательно" in page.inner_text("#trigger-form")  # the English offer
    page.fill("#name", "День рождения")
    page.fill("#offer_ru", "С днём рождения! −15 % всю неделю")
    page.fill("#bonus_points", "200")
    page.fill("#trigger_days", "-3")
    shot(page, "1-trigger-form")
    page.click("#save")
    page.wait_for_selector("#switch-on")
    assert "создана выключенной" in page.inner_text("body")
    expect(page.locator("#status")).to_have_text("выключена")
    expect(page.locator("img[data-wallet=apple]")).to_be_visible()
    page.click("#switch-on")
    expect(page.locator("#status")).to_have_text("включена")
    assert "-3" in page.inner_text("#trigger")
    shot(page, "2-trigger-on")

    # A campaign to the 50 cards at risk, 20 % holdout: the confirmation comes first.
    page.goto(f"{url}/console/campaigns/new?program=demo&lang=ru")
    page.fill("#name", "Возвращайтесь")
    page.fill("#offer_ru", "−20 % на весеннюю коллекцию до воскресенья")
    page.fill("#holdout_percent", "20")
    page.check("input[name=stages][value=at_risk]")
    expect(page.locator("#segment-size")).to_have_text("50")
    page.click("#launch")
    page.wait_for_selector("#nothing-sent")
    assert not [t for t in huey.pending() if t.name == "run_campaign"]  # nothing sent yet
    assert "Карт в сегменте: 50" in page.inner_text("#c-audience")
    assert "в кошельке: 50" in page.inner_text("#c-in-wallet")
    assert "около 10" in page.inner_text("#c-holdout")
    expect(page.locator("#holdout-warning")).to_contain_text("меньше 100 карт")
    preview = page.locator("img[data-wallet=apple]")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") > 100  # the server drew the card
    shot(page, "3-confirmation")
    page.click("#confirm")
    page.wait_for_selector("#progress")
    assert "Подтверждено" in page.inner_text("body")
    expect(page.locator("#status")).to_have_text("отправляется")
    with services.transaction(write=False) as session:
        first = session.scalars(select(Campaign.id).where(Campaign.name == "Возвращайтесь")).one()
    assert [t.args for t in _drain(huey) if t.name == "run_campaign"] == [(first,)]
    handlers.run_campaign(services, first)
    expect(page.locator("#status")).to_have_text("отправлена")
    shot(page, "4-sent")

    # Another one, confirmed, then cancelled before the worker got to it.
    page.goto(f"{url}/console/campaigns/new?program=demo&lang=ru")
    page.fill("#name", "Распродажа")
    page.fill("#offer_ru", "−30 % на всё до 15 декабря")
    page.fill("#holdout_percent", "10")
    ends = (services.clock.now() + timedelta(days=7)).astimezone(ZoneInfo(program.timezone))
    page.fill("#ends_at", ends.strftime("%Y-%m-%dT%H:%M"))
    page.click("#launch")
    page.wait_for_selector("#nothing-sent")
    expect(page.locator("#c-ends-at")).not_to_have_text("—")
    page.click("#confirm")
    page.wait_for_selector("#cancel")
    with services.transaction(write=False) as session:
        second = session.scalars(select(Campaign.id).where(Campaign.name == "Распродажа")).one()
    page.click("#cancel")
    expect(page.locator("#status")).to_have_text("отменена")
    assert "Кампания отменена" in page.inner_text("body")
    assert handlers.run_campaign(services, second) == 0  # the worker sends nothing
    shot(page, "5-cancelled")
    page.goto(f"{url}/console/campaigns?lang=ru")
    listing = page.inner_text("#campaign-table")
    assert "отменена" in listing and "отправлена" in listing and "включена" in listing
    shot(page, "6-list")
