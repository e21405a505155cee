"""The card page as an Android phone in Russia sees it, in headless Chromium."""

from __future__ import annotations

from typing import Any

from app.services import enrollment
from app.services.programs import seed_demo
from tests.e2e.conftest import ARTIFACTS, LiveServer

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36"
)


def test_an_android_phone_sees_the_wallet_apps_in_russian(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Ольга", phone="+79005551234", consent=True)
        card = enrollment.enroll(
            session,
            services.clock,
            program,
            enrollment.validate(form, program, services.clock.now().date()),
        )
        path = f"/c/{card.public_id}"

    context = browser_page.context.browser.new_context(
        user_agent=ANDROID, locale="ru-RU", viewport={"width": 400, "height": 860}
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + path)
        assert page.inner_text("#open-pkpass").strip() == "Открыть в приложении-кошельке"
        apps = page.eval_on_selector_all(
            "#android-apps a", "links => links.map(a => a.dataset.app)"
        )
        assert apps == ["walletunion", "walletpasses", "passwallet", "pass2u"]
        assert "Установить WalletUnion" in page.inner_text("#android-apps")
        assert page.locator("#add-apple").count() == 0
        # The till QR is drawn: the web card works even if no app is installed.
        width = page.eval_on_selector("#till-qr img", "img => img.naturalWidth")
        assert width > 100
        page.screenshot(path=str(ARTIFACTS / "card-android-ru.png"), full_page=True)
    finally:
        context.close()
