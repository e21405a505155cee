"""Cards by wallet app on the dashboard (table, chart, CSV) and the segment filter in the
console and the CRM API, on the hand-checked history of tests/wallet_history.py."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from tests import wallet_history
from tests.web.test_console_campaigns import log_in, text
from tests.web.test_crm_api import call, token_for

MARCH = "program=demo&from=2026-03-01&to=2026-03-31"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def history(session: Session, services: Services, demo: Program) -> None:
    wallet_history.build(session, services, demo)


def table(page: str) -> dict[str, tuple[str, ...]]:
    section = re.search(r'<section class="panel" id="wallet-apps">(.*?)</section>', page, re.S)
    assert section
    rows = re.findall(
        r'<tr data-wallet-app="(\w+)">\s*<th scope="row">([^<]*)</th>\s*'
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        section.group(1),
    )
    return {
        app: (label, installs, removals, active) for app, label, installs, removals, active in rows
    }


def test_the_dashboard_counts_installs_removals_and_active_cards_per_app(
    client: FlaskClient, session: Session, services: Services, history: None
) -> None:
    log_in(client, session, services, "store_manager")
    page = text(client.get(f"/console/dashboard?{MARCH}&lang=en"))
    assert "Cards by wallet app" in page
    assert table(page) == {
        "apple_wallet": ("Apple Wallet", "2", "0", "3"),  # c8 installed in February
        "google_wallet": ("Google Wallet", "2", "1", "1"),
        "walletpasses": ("Wallet Passes", "2", "1", "1"),
        "passwallet": ("PassWallet", "1", "0", "1"),
        "walletunion": ("WalletUnion", "1", "0", "1"),
        "unknown": ("another Android app", "1", "0", "1"),
    }
    svg = re.search(r'<svg [^>]*id="chart-wallet-installs".*?</svg>', page, re.S)
    assert svg
    chart = ET.fromstring(svg.group(0))  # noqa: S314  (our own SVG, made by the code under test)
    assert chart.findtext(f"{SVG}title") == "Installs by wallet app, by week"
    lines = chart.findall(f".//{SVG}g[@class='series']")
    assert len(lines) == 6  # one line per app with installs in the period
    # Weekly installs (Mar 1-7, 8-14, 15-21, 22-28, 29-31) as the points' tooltips say.
    points = [c.findtext(f"{SVG}title") for c in lines[0].iter(f"{SVG}circle")]
    assert points == [
        "Apple Wallet, Mar 1: 1",
        "Apple Wallet, Mar 8: 0",
        "Apple Wallet, Mar 15: 1",
        "Apple Wallet, Mar 22: 0",
        "Apple Wallet, Mar 29: 0",
    ]
    russian = text(client.get(f"/console/dashboard?{MARCH}&lang=ru"))
    assert "Карты по приложениям-кошелькам" in russian
    assert "Установки карт по приложениям, по неделям" in russian
    assert table(russian)["unknown"] == ("другое Android-приложение", "1", "0", "1")
    # February only: c8's install, everyone's cards still active now.
    feb = text(client.get("/console/dashboard?program=demo&from=2026-02-01&to=2026-02-28"))
    assert table(feb)["apple_wallet"][1:] == ("1", "0", "3")


def test_the_dashboard_says_when_no_card_is_in_a_wallet_app(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "store_manager")
    page = text(client.get(f"/console/dashboard?{MARCH}&lang=en"))
    assert "No card is in a wallet app yet." in page
    assert "No installs in this period" in page


def test_the_csv_has_installs_and_removals_per_app_per_week(
    client: FlaskClient, session: Session, services: Services, history: None
) -> None:
    log_in(client, session, services, "store_manager")
    rows = list(csv.DictReader(io.StringIO(client.get(f"/console/dashboard.csv?{MARCH}").text)))
    assert [r["week_start"] for r in rows] == [
        "2026-03-01",
        "2026-03-08",
        "2026-03-15",
        "2026-03-22",
        "2026-03-29",
    ]

    def column(name: str) -> list[int]:
        return [int(r[name]) for r in rows]

    assert column("installs_apple_wallet") == [1, 0, 1, 0, 0]
    assert column("installs_google_wallet") == [1, 1, 0, 0, 0]
    assert column("removals_google_wallet") == [0, 1, 0, 0, 0]
    assert column("installs_walletpasses") == [0, 1, 1, 0, 0]
    assert column("removals_walletpasses") == [0, 0, 1, 0, 0]
    assert column("installs_walletunion") == [1, 0, 0, 0, 0]
    assert column("installs_passhub") == [0, 0, 0, 0, 0]


def test_the_segment_form_and_the_crm_api_filter_by_wallet_app(
    client: FlaskClient, session: Session, services: Services, demo: Program, history: None
) -> None:
    token = token_for(session, services, "admin")
    for value, size in wallet_history.SIZES.items():
        answer = call(
            client,
            "POST",
            "/api/v1/programs/demo/segments/size",
            token,
            {"segment": {"wallet": value}},
        )
        assert answer.json == {"size": size}, value
    refused = call(
        client, "POST", "/api/v1/programs/demo/segments/size", token, {"segment": {"wallet": "x"}}
    )
    assert refused.status_code == 422 and "segment.wallet" in refused.json["error"]["fields"]
    log_in(client, session, services, "marketer")
    live = client.get("/console/segments/size?program=demo&wallet=android_pkpass")
    assert live.get_json() == {"size": 4}
    form = text(client.get("/console/segments?program=demo&lang=en"))
    for label in ("any Android .pkpass app", "WalletUnion (Huawei)", "PassHub (Telegram)"):
        assert label in form
