"""The marketer console in headless Chromium: log in, read the dashboard, build a segment,
launch a campaign with a holdout, watch the pushes land on (fake) phones, read the report."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services, dev_chain_paths
from app.campaigns.models import Campaign, CampaignTarget
from app.db import new_public_id
from app.fakes.apns import running_fake_apns
from app.fakes.tls import make_server_cert
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.push.apns.client import ApnsConfig, ApnsSender
from app.services import terminals, wallet_counts
from app.services.programs import seed_demo
from app.till.models import Terminal
from app.worker import handlers
from app.worker.runtime import client_pem_files
from tests.e2e.conftest import ARTIFACTS, LiveServer, add_staff, sign_in
from tests.helpers import PASS_TYPE_ID, sale

CARDS = 200  # every fourth is at risk: 50 in the segment


def population(session: Session, services: Services, program: Program) -> list[Card]:
    """Members with cards whose passes sit on a registered iPhone each."""
    now = services.clock.now()
    cards = []
    for i in range(CARDS):
        member = Member(
            program_id=program.id,
            phone=f"+7907{i:07d}",
            name=f"C{i}",
            locale="ru",
            marketing_consent=True,
            created_at=now - timedelta(days=40 - i % 30),
            stage="at_risk" if i % 4 == 0 else "active",
        )
        session.add(member)
        session.flush()
        card = Card(
            public_id=new_public_id(),
            program_id=program.id,
            member_id=member.id,
            number=f"{i:013d}",
            barcode_secret="S" * 10,
            tier_id=program.default_tier.id,
            balance=0,
            status="active",
            apple_installed_at=now,
            created_at=member.created_at,
        )
        session.add(card)
        session.flush()
        wallet_pass = WalletPass(
            card_id=card.id,
            serial_number=new_public_id(),
            auth_token="t" * 24,
            version=1,
            apns_delivered_version=1,
            updated_at=now,
            last_modified=0,
            created_at=now,
        )
        device = AppleDevice(
            library_id=f"lib{i}", push_token=f"{i:064x}", created_at=now, updated_at=now
        )
        session.add_all([wallet_pass, device])
        session.flush()
        session.add(AppleRegistration(device_id=device.id, pass_id=wallet_pass.id, created_at=now))
        cards.append(card)
    session.flush()
    wallet_counts.rebuild(session, program)  # rows written around the PassKit service
    return cards


def receipt(
    session: Session, terminal: Terminal, key: str, at: datetime, due: int, card: Card | None
) -> None:
    session.add(sale(terminal, key, at, due, card.id if card else None, terminal.store_id))


def history(session: Session, terminal: Terminal, cards: list[Card], now: datetime) -> None:
    """Four weeks of sales: more of them with a card as the weeks go by."""
    for d in range(1, 29):
        at = now - timedelta(days=d, hours=3)
        for j in range(3 + (28 - d) // 7):
            card = cards[(d * 7 + j) % len(cards)]
            receipt(session, terminal, f"c{d}-{j}", at, 120_000 + (d * 3_700 + j) % 40_000, card)
        for j in range(3):
            receipt(session, terminal, f"n{d}-{j}", at, 80_000 + (d * 5_300 + j) % 30_000, None)


def quiet_hours_away_from_now(program: Program, now: datetime) -> None:
    """Quiet hours that do not cover this moment, whenever the test runs."""
    hour = (now.astimezone(ZoneInfo(program.timezone)).hour + 12) % 24
    program.quiet_start_hour, program.quiet_end_hour = hour, (hour + 1) % 24


def test_a_marketer_launches_a_campaign_and_sees_it_reach_the_phones(
    live_server: LiveServer, browser_page: Any, tmp_path: Path
) -> None:
    services = live_server.services
    huey = services.queue.huey
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        quiet_hours_away_from_now(program, services.clock.now())
        add_staff(session, services, "mila@example.com", "Mila Orlova", "marketer")
        cards = population(session, services, program)
        terminal = terminals.add_terminal(session, services.clock, program, "Front till")[0]
        terminal.store_id = program.stores[0].id
        history(session, terminal, cards, services.clock.now())
    huey.flush()

    page = browser_page
    url = live_server.url
    sign_in(page, url, "mila@example.com")

    # The dashboard: KPI tiles, three server-drawn KPI charts, loyal buyers and repeat
    # purchases, and the wallet apps' installs.
    page.click("#console-pages a[href='/console/dashboard']")
    page.wait_for_selector("#kpis")
    charts = page.locator("svg.chart:visible")
    assert sorted(charts.nth(i).get_attribute("id") or "" for i in range(charts.count())) == [
        "chart-check",
        "chart-loyal",
        "chart-penetration",
        "chart-repeat",
        "chart-share",
        "chart-wallet-installs",
    ]
    assert page.locator("#chart-check polyline").count() == 2  # with and without a card
    assert page.locator("#chart-check circle").count() >= 8
    assert page.text_content("#chart-check-title").startswith("Average check")
    assert page.inner_text("#kpi-receipts").replace("\u202f", "") != "0"
    assert page.locator("#per-store tr[data-store='msk-tverskaya']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)

    # A segment: the size follows the filters without a reload.
    page.click("nav.console-nav >> text=Segments")
    page.wait_for_selector("#segment-form")
    assert page.inner_text("#segment-size") == str(CARDS)
    page.check("input[name=stages][value=at_risk]")
    expect(page.locator("#segment-size")).to_have_text("50")
    page.fill("input[name=min_spend]", "abc")
    page.wait_for_selector("[data-error-for='segment.min_spend']:not([hidden])")
    page.fill("input[name=min_spend]", "")
    expect(page.locator("#segment-size")).to_have_text("50")
    page.screenshot(path=str(ARTIFACTS / "console-segment.png"), full_page=True)

    # ... becomes a campaign with a 20 % holdout, sent now.
    page.click("#to-campaign")
    page.wait_for_selector("#campaign-form")
    assert page.is_checked("input[name=stages][value=at_risk]")
    assert page.inner_text("#segment-size") == "50"
    page.fill("#name", "Come back for spring")
    page.fill("#offer_ru", "Скидка 20 % на весеннюю коллекцию до воскресенья")
    page.fill("#offer_en", "20 % off the spring collection until Sunday")
    assert page.inner_text("[data-count-for=offer_en]").startswith("43 / 200")
    page.fill("#holdout_percent", "20")
    page.screenshot(path=str(ARTIFACTS / "console-campaign-form.png"), full_page=True)
    # A wrong amount comes back from the server with the message and every input kept.
    page.fill("input[name=min_spend]", "lots")
    page.click("#launch")
    page.wait_for_selector("#form-notice")
    assert page.inner_text("[data-error-for='segment.min_spend']").startswith("Enter an amount")
    assert page.input_value("#offer_en") == "20 % off the spring collection until Sunday"
    assert page.input_value("#holdout_percent") == "20"
    page.screenshot(path=str(ARTIFACTS / "console-campaign-errors.png"), full_page=True)
    page.fill("input[name=min_spend]", "")
    expect(page.locator("#segment-size")).to_have_text("50")
    page.click("#launch")
    page.wait_for_selector("#nothing-sent")  # the confirmation: nothing sent yet
    assert not list(huey.pending())
    page.click("#confirm")
    page.wait_for_selector("#progress")
    assert page.inner_text("#status") == "sending"
    with services.transaction(write=False) as session:
        campaign_id = session.scalars(select(Campaign.id)).one()

    # The worker's part, run here: pick the targets and put the offer on the cards ...
    tasks = _drain(huey)
    assert [(t.name, t.args) for t in tasks] == [("run_campaign", (campaign_id,))]
    handlers.run_campaign(services, campaign_id)
    expect(page.locator("#status")).to_have_text("sent")
    pass_ids = sorted(i for t in _drain(huey) if t.name == "deliver_passes" for i in t.args[0])
    with services.transaction(write=False) as session:
        holdout = session.scalars(
            select(CampaignTarget.card_id).where(CampaignTarget.holdout.is_(True))
        ).all()
    assert len(pass_ids) == 50 - len(holdout) and 0 < len(holdout) < 25

    # ... then tell the phones, half at a time, while the page watches.
    server = make_server_cert(tmp_path / "apns")
    with running_fake_apns(
        server_cert=server.cert,
        server_key=server.key,
        client_ca=dev_chain_paths(services.settings)["root"],
        topic=PASS_TYPE_ID,
    ) as fake:
        cert, key = client_pem_files(services)
        config = ApnsConfig(
            topic=PASS_TYPE_ID,
            base_url=f"https://127.0.0.1:{fake.port}",
            client_cert=cert,
            client_key=key,
            ca_file=server.ca_cert,
        )
        with ApnsSender(config) as sender:
            half = len(pass_ids) // 2
            handlers.deliver(services, sender, pass_ids[:half])
            expect(page.locator("#p-pushed")).to_have_text(str(half))
            percent = int(page.inner_text("#percent"))
            assert 0 < percent < 100
            page.screenshot(path=str(ARTIFACTS / "console-campaign-progress.png"), full_page=True)
            handlers.deliver(services, sender, pass_ids[half:])
            expect(page.locator("#percent")).to_have_text("100")
        assert len([r for r in fake.received if r.status == 200]) == len(pass_ids)
    assert page.inner_text("#p-pushed") == str(len(pass_ids))

    # Shoppers come back; the report compares the targeted cards with the holdout.
    with services.transaction() as session:
        now = services.clock.now() + timedelta(minutes=1)
        for i, target in enumerate(session.scalars(select(CampaignTarget)).all()):
            card = session.get(Card, target.card_id)
            if target.holdout and i % 3 == 0:
                receipt(session, terminal, f"after{i}", now, 90_000 + i * 1_000, card)
            elif not target.holdout and i % 3 != 2:
                receipt(session, terminal, f"after{i}", now, 140_000 + i * 1_500, card)
    page.reload()
    page.wait_for_selector("#uplift")
    sentence = page.inner_text("#uplift").replace("\u00a0", " ").replace("\u202f", " ")
    assert (
        sentence.startswith("Each targeted card brought ")
        and "more than a held-out one" in sentence
    )
    assert "(95 % CI " in sentence
    page.screenshot(path=str(ARTIFACTS / "console-campaign-report.png"), full_page=True)

    page.click("nav.console-nav >> text=Campaigns")
    page.wait_for_selector("#campaign-table")
    assert "Come back for spring" in page.inner_text("#campaign-table")
    page.screenshot(path=str(ARTIFACTS / "console-campaigns.png"), full_page=True)

    # On a phone the pages stack up without sideways scrolling.
    page.set_viewport_size({"width": 400, "height": 860})
    page.goto(f"{url}/console/dashboard")
    page.wait_for_selector("#chart-check-compact", state="visible")
    assert page.is_hidden("#chart-check")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(ARTIFACTS / "console-dashboard-phone.png"), full_page=True)

    # The same report in Russian.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}/console/campaigns/{campaign_id}?lang=ru")
    page.wait_for_selector("#uplift")
    assert page.inner_text("#uplift").startswith("Каждая карта с предложением принесла на ")
    page.screenshot(path=str(ARTIFACTS / "console-campaign-report-ru.png"), full_page=True)


def _drain(huey: Any) -> list[Any]:
    tasks = []
    while (task := huey.dequeue()) is not None:
        tasks.append(task)
    return tasks
