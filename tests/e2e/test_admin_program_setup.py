"""Issue 18, Done means: an admin, in Russian, creates a program with two tiers and a
store, and pairs a till by the QR code the console shows; the cashier's phone opens the
QR link and is signed in as that till of that store. Screenshots in test-artifacts/."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.loyalty.models import Program
from app.posters.decode import decode_barcode
from app.services.programs import seed_demo
from app.till.models import Terminal
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in


def test_admin_creates_a_program_with_two_tiers_and_a_store_and_pairs_a_till(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    with services.transaction() as session:
        seed_demo(session, services.clock)
        add_staff(session, services, "admin@kroha.test", "Ольга", "admin")
    page = browser_page
    url = live_server.url
    sign_in(page, url, "admin@kroha.test", lang="ru")
    page.goto(f"{url}/console/?lang=ru")  # the language chosen stays for the session

    # The program: settings and two tiers (7 % for everyone, 15 % set by staff on evidence).
    page.click("#programs-link")
    page.click("#new-program")
    page.fill("input[name=slug]", "kroha")
    page.fill("input[name=name]", "Клуб друзей «Кроха»")
    page.fill("input[name=brand_name]", "Кроха")
    page.fill("input[name=earn_rate]", "5")
    page.fill("input[name=registration_bonus]", "500")
    page.fill("input[name=birthday_bonus]", "1000")
    page.fill("input[name='tiers.0.name_ru']", "Друг")
    page.fill("input[name='tiers.0.discount']", "7")
    page.fill("input[name='tiers.1.code']", "large_family")
    page.fill("input[name='tiers.1.name_ru']", "Многодетная семья")
    page.fill("input[name='tiers.1.discount']", "15")
    page.select_option("select[name='tiers.1.grant']", "staff")
    page.screenshot(path=str(ARTIFACTS / "admin-program-form-ru.png"), full_page=True)
    page.click("#program-form button[type=submit]")
    page.wait_for_url(f"{url}/console/programs/kroha/edit")
    assert "Программа создана." in page.inner_text("main")

    # A store of the program (no coordinates needed).
    page.goto(f"{url}/console/programs/kroha/stores")
    page.fill("#store-form input[name=code]", "ekb-lenina")
    page.fill("#store-form input[name=name]", "Кроха на Ленина")
    page.fill("#store-form input[name=address]", "Екатеринбург, пр. Ленина, 1")
    page.fill("#store-form input[name=timezone]", "Asia/Yekaterinburg")
    page.click("#store-form button[type=submit]")
    page.wait_for_selector("tr[data-store='ekb-lenina']")
    page.screenshot(path=str(ARTIFACTS / "admin-stores-ru.png"), full_page=True)

    # A till of that store, paired by the QR code the console shows.
    page.click("#tills-link")
    page.select_option("#pair-form select[name=store]", "ekb-lenina")
    page.fill("#pair-form input[name=name]", "Касса 1")
    page.click("#pair-form button[type=submit]")
    qr = page.locator("#pairing-qr")
    qr.wait_for()
    assert "Код действует один раз, 10 минут" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "admin-till-pairing-qr-ru.png"), full_page=True)
    link = decode_barcode(qr.screenshot())
    assert link is not None and "/pos#pair=" in link
    code = link.split("#pair=")[1]

    # The cashier's phone opens the link (the camera app would): it becomes the till.
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    till = phone.new_page()
    till.goto(f"{url}/pos?lang=ru#pair={code}")
    till.wait_for_selector("#till:not([hidden])")
    assert till.inner_text("#terminal-name") == "Кроха · Касса 1"
    assert "#pair=" not in till.url  # the code leaves the address bar
    till.screenshot(path=str(ARTIFACTS / "cashier-paired-ru.png"))
    # The same QR code again (another phone) is refused, in Russian.
    phone2 = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, locale="ru-RU"
    )
    again = phone2.new_page()
    again.goto(f"{url}/pos?lang=ru#pair={code}")
    again.wait_for_selector("#login-error:has-text('уже использован')")
    phone.close()
    phone2.close()

    with services.transaction(write=False) as session:
        program = session.scalars(select(Program).where(Program.slug == "kroha")).one()
        assert [(t.code, t.discount_bp) for t in program.tiers] == [
            ("base", 700),
            ("large_family", 1500),
        ]
        terminal = session.scalars(select(Terminal)).one()
        assert terminal.store is not None and terminal.store.code == "ekb-lenina"

    page.goto(f"{url}/console/programs/kroha/tills")
    assert "Касса 1" in page.inner_text("#tills")
    page.screenshot(path=str(ARTIFACTS / "admin-tills-ru.png"), full_page=True)
