"""Install invites in headless Chromium, in Russian: a marketer opens the invite page,
sees which channels are on, quotes and starts an invite campaign to members without a
card in a wallet through the fake SMS.ru gateway, and reads "sent" on the dashboard's
funnel panel."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from app.bootstrap import build_messaging
from app.db import new_public_id
from app.fakes.sms import FakeSmsRu
from app.loyalty.models import Card, Member, Program
from app.messaging.models import InviteCampaign
from app.messaging_settings import messaging_settings
from app.services.programs import seed_demo
from app.worker import invites as invite_worker
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in
from tests.e2e.test_console import quiet_hours_away_from_now
from tests.invite_helpers import run_invite_tasks


def members(session: Any, program: Program, now: Any) -> None:
    """Five members with a marketing consent and no card in a wallet, and one without the
    consent."""
    for i in range(6):
        member = Member(
            program_id=program.id,
            phone=f"+7916{i:07d}",
            name=f"Покупатель {i}",
            locale="ru",
            marketing_consent=i != 5,
            created_at=now,
        )
        session.add(member)
        session.flush()
        session.add(
            Card(
                public_id=new_public_id(),
                program_id=program.id,
                member_id=member.id,
                number=f"{i:013d}",
                barcode_secret="S" * 10,
                tier_id=program.default_tier.id,
                balance=0,
                status="active",
                created_at=now,
            )
        )


def test_a_marketer_sends_install_invites_and_sees_them_in_the_funnel(
    live_server: LiveServer, browser_page: Any
) -> None:
    services = live_server.services
    with FakeSmsRu().running() as gateway:
        # SMS on (the fake gateway), e-mail off (no SMTP settings).
        services.messaging = build_messaging(
            messaging_settings({**gateway.env(), "WALLETPASS_SMS_SENDER": "DemoClub"})
        )
        with services.transaction() as session:
            program = seed_demo(session, services.clock)
            quiet_hours_away_from_now(program, services.clock.now())
            add_staff(session, services, "olga@example.com", "Ольга Маркетолог", "marketer")
            members(session, program, services.clock.now())
        services.queue.huey.flush()

        page = browser_page
        url = live_server.url
        sign_in(page, url, "olga@example.com", lang="ru")
        page.goto(f"{url}/console/programs/demo/invites?lang=ru")  # stays for the session
        expect(page.locator("h1")).to_contain_text("Приглашения установить карту")
        expect(page.locator("#invite-channels [data-channel=sms]")).to_contain_text("включён")
        expect(page.locator("#invite-channels [data-channel=email]")).to_contain_text("выключен")
        expect(page.locator("#invite-channels [data-channel=email] code")).not_to_be_empty()

        page.fill("#invite-form input[name=name]", "Карта в телефон")
        page.select_option("#invite-form select[name=channel]", "sms")
        page.select_option("#invite-form select[name=wallet]", "none")
        page.fill("#invite-form input[name=daily_budget]", "100")
        page.fill("#invite-form input[name=per_minute]", "10")
        page.click("#invite-form button[type=submit]")
        expect(page.get_by_text("Стоимость рассчитана")).to_be_visible()
        row = page.locator("#invite-campaigns tr[data-invite-campaign]")
        expect(row).to_contain_text("Карта в телефон")
        cells = row.locator("td.num")
        expect(cells.nth(0)).to_have_text("5")  # the one without a consent is left out
        expect(cells.nth(1)).to_contain_text("₽")
        page.screenshot(path=str(ARTIFACTS / "console-invites-quote-ru.png"), full_page=True)

        row.get_by_role("button", name="Запустить").click()
        expect(page.get_by_text("Отправка начнётся в")).to_be_visible()
        with services.transaction(write=False) as session:
            assert session.scalars(select(InviteCampaign.status)).one() == "sending"

        # The worker's part, run here: the minute tick's slice, then the sending.
        assert invite_worker.tick(services) == 5
        assert run_invite_tasks(services)["sent"] == 5
        assert len(gateway.sent) == 5
        assert all("ваша карта" in d.text and d.sender == "DemoClub" for d in gateway.sent)

        page.reload()
        row = page.locator("#invite-campaigns tr[data-invite-campaign]")
        expect(row.locator("td.num").nth(3)).to_have_text("5")  # sent
        page.screenshot(path=str(ARTIFACTS / "console-invites-sent-ru.png"), full_page=True)

        page.goto(f"{url}/console/dashboard?program=demo")
        panel = page.locator("#invite-funnel")
        expect(panel.locator("h2")).to_have_text("Воронка приглашений")
        expect(panel.locator("thead")).to_contain_text("Отправлено")
        console_row = panel.locator("tr[data-funnel=sms-console]")
        expect(console_row).to_contain_text("консоль")
        expect(console_row.locator("td.num").nth(0)).to_have_text("5")
        expect(panel.locator("tr[data-funnel=all-all] td.num").nth(0)).to_have_text("5")
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "console-invite-funnel-ru.png"), full_page=True)
