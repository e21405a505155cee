"""Support in headless Chromium, in Russian: find a member by a lowercase Cyrillic name,
replace her card (the till then refuses the old code) and send her the new card link
by SMS (a fake SMS.ru gateway on loopback)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.bootstrap import build_messaging
from app.fakes.sms import FakeSmsRu
from app.loyalty.models import Card
from app.messaging_settings import messaging_settings
from app.services import cards, enrollment, terminals
from app.services.programs import seed_demo
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in
from tests.invite_helpers import run_invite_tasks


def till_lookup(url: str, key: str, code: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/api/pos/v1/cards/{code}", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_support_replaces_a_card_and_resends_its_link(
    live_server: LiveServer, browser_page: Any
) -> None:
    services, url, page = live_server.services, live_server.url, browser_page
    with services.transaction() as session:
        demo = seed_demo(session, services.clock)
        add_staff(session, services, "olga@example.com", "Ольга", "store_manager")
        form = enrollment.EnrollmentForm(
            name="Надежда Смирнова", phone="+79161230000", consent=True
        )
        card = enrollment.enroll(
            session,
            services.clock,
            demo,
            enrollment.validate(form, demo, services.clock.now().date()),
        )
        old_number = card.number
        old_barcode = cards.content_of(session, card, services.templates).barcode
        _, key = terminals.add_terminal(session, services.clock, demo, "Касса 1")

    saved = services.messaging
    with FakeSmsRu().running() as gateway:
        services.messaging = build_messaging(
            messaging_settings({**gateway.env(), "WALLETPASS_SMS_SENDER": "DemoClub"})
        )
        try:
            sign_in(page, url, "olga@example.com", lang="ru")
            page.goto(f"{url}/console/members?program=demo&lang=ru")
            page.fill("#member-search", "надежда")  # lowercase: SQLite's lower() would miss it
            page.click("form[role=search] button[type=submit]")
            expect(page.locator("#members")).to_contain_text("Надежда Смирнова")
            page.screenshot(path=str(ARTIFACTS / "support-search.png"), full_page=True)

            page.click("#members a")
            expect(page.locator("#card-care")).to_contain_text("Обслуживание карты")
            expect(page.locator("#times-in")).to_contain_text("Europe/Moscow")
            page.fill("#replace-form input[name=reason]", "Телефон украден")
            page.click("#replace-form button[type=submit]")
            expect(page.locator("#notice")).to_contain_text("Карта заменена: новый номер")
            page.screenshot(path=str(ARTIFACTS / "support-card-replaced.png"), full_page=True)

            page.click("#link-form button[type=submit]")
            expect(page.locator("#notice")).to_contain_text("Ссылка на карту скоро уйдёт по SMS")
            page.screenshot(path=str(ARTIFACTS / "support-link-sent.png"), full_page=True)
            assert run_invite_tasks(services)["sent"] == 1
            [sms] = gateway.sent
        finally:
            services.messaging = saved

    with services.transaction(write=False) as session:
        fresh = session.scalars(select(Card).where(Card.member_id == card.member_id)).one()
        new_barcode = cards.content_of(session, fresh, services.templates).barcode
        assert fresh.number != old_number
        assert sms.number == "79161230000" and f"/c/{fresh.public_id}" in sms.text
    status, body = till_lookup(url, key, old_barcode)
    assert status == 422 and body["error"]["code"] == "card_replaced"
    status, body = till_lookup(url, key, new_barcode)
    assert status == 200 and body["card_number"] == fresh.number
