"""The KPI dashboard on a hand-made history, its CSV, and the SVG charts alone."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.db import new_public_id
from app.loyalty.models import Card, Member, Program, Store
from app.services import terminals
from app.till.models import Refund
from app.web.console.charts import Frame, Series, line_chart, nice_ticks, x_positions
from tests.helpers import sale
from tests.web.test_console_campaigns import log_in, text

SVG = "{http://www.w3.org/2000/svg}"
MARCH = "program=demo&from=2026-03-01&to=2026-03-31"


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314  (our own SVG, made by the code under test)


def day(month: int, d: int, year: int = 2026) -> datetime:
    return datetime(year, month, d, 12, tzinfo=UTC)  # 15:00 in Moscow, same local date


@pytest.fixture
def history(session: Session, services: Services, demo: Program) -> None:
    """The purchase history of tests/integration/test_kpis.py (hand-checked sums there)."""
    terminal = terminals.add_terminal(session, services.clock, demo, "T")[0]
    store = Store(program_id=demo.id, code="x", name="Store X")
    session.add(store)
    session.flush()
    n = 0

    def member(enrolled: datetime) -> Card:
        nonlocal n
        n += 1
        m = Member(
            program_id=demo.id,
            phone=f"+7906000{n:04d}",
            name=f"M{n}",
            locale="ru",
            marketing_consent=True,
            created_at=enrolled,
        )
        session.add(m)
        session.flush()
        card = Card(
            public_id=new_public_id(),
            program_id=demo.id,
            member_id=m.id,
            number=f"{n:013d}",
            barcode_secret="S" * 10,
            tier_id=demo.default_tier.id,
            balance=0,
            status="active",
            created_at=enrolled,
        )
        session.add(card)
        session.flush()
        return card

    def receipt(at: datetime, due: int, card: Card | None = None, in_store: bool = False) -> int:
        nonlocal n
        n += 1
        shop = store.id if in_store else None
        r = sale(terminal, f"r{n}", at, due, card.id if card else None, shop)
        session.add(r)
        session.flush()
        return r.id

    a, b, _c = member(day(3, 2)), member(day(3, 5)), member(day(3, 10))
    d, e, f = member(day(10, 1, 2025)), member(day(6, 1, 2025)), member(day(1, 1, 2025))
    receipt(day(3, 3), 1000, a)
    receipt(day(3, 20), 3000, a)
    b_receipt = receipt(day(3, 6), 2000, b)
    session.add(
        Refund(
            receipt_pk=b_receipt,
            terminal_id=terminal.id,
            refund_id="f1",
            amount=500,
            money_back=500,
            points_returned=0,
            points_taken_back=0,
            request_hash="h",
            created_at=day(3, 8),
        )
    )
    receipt(day(11, 1, 2025), 7000, d)
    receipt(day(3, 15), 4000, d, in_store=True)
    receipt(day(12, 1, 2025), 5000, e)
    receipt(day(6, 1, 2025), 6000, f)
    for d_ in (4, 11, 25):
        receipt(day(3, d_), 1000)
    receipt(day(2, 27), 9999)  # February: outside the period
    session.commit()


@pytest.fixture
def manager(client: FlaskClient, session: Session, services: Services, demo: Program) -> None:
    log_in(client, session, services, "store_manager")


def kpi(page: str, name: str) -> str:
    match = re.search(rf'<dd id="kpi-{name}">([^<]*)</dd>', page)
    assert match, name
    return match.group(1)


def test_the_dashboard_shows_the_kpis_of_the_period(
    client: FlaskClient, history: None, manager: None
) -> None:
    response = client.get(f"/console/dashboard?{MARCH}")
    assert response.status_code == 200
    page = text(response)
    expected = {
        "receipts": "7",
        "receipts_with_card": "4",
        "revenue": "125.00 ₽",  # B's refund is netted
        "revenue_with_card": "95.00 ₽",
        "average_check_with_card": "23.75 ₽",
        "average_check_without_card": "10.00 ₽",
        "check_uplift": "+137.5 %",
        "card_revenue_share": "76.0 %",
        "card_penetration": "57.1 %",
        "members_enrolled": "3",
        "conversion_first": "66.7 %",
        "conversion_second": "50.0 %",
        "repeat_share": "33.3 %",
        "purchases_per_person": "1.33",
        "at_risk_share": "33.3 %",
    }
    assert {name: kpi(page, name) for name in expected} == expected
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    ids = [re.search(r'id="([\w-]+)"', svg).group(1) for svg in charts]  # type: ignore[union-attr]
    assert ids == [
        "chart-check",
        "chart-check-compact",
        "chart-share",
        "chart-penetration",
        "chart-loyal",
        "chart-repeat",
        "chart-wallet-installs",
    ]
    for svg in charts:
        parse_svg(svg)  # well-formed
    assert '<title id="chart-check-title">Average check with and without a card' in page
    store_row = re.search(r'<tr data-store="x"[^>]*>(.*?)</tr>', page, re.S)
    assert store_row
    cells = re.sub(r"<sup[^>]*>\*</sup>", "", store_row.group(1))  # the few-receipts mark
    assert 'class="thin"' in store_row.group(0)  # 1 receipt: marked as not meaningful yet
    assert re.findall(r">([^<>]+)</t[dh]>", cells) == [
        "Store X",
        "1",
        "40.00 ₽",
        "40.00 ₽",
        "—",
        "100.0 %",
        "100.0 %",
    ]
    # Only this store's receipts:
    only_x = text(client.get(f"/console/dashboard?{MARCH}&store=x"))
    assert (kpi(only_x, "receipts"), kpi(only_x, "revenue")) == ("1", "40.00 ₽")


def test_the_dashboard_defaults_to_the_last_30_days_and_refuses_bad_periods(
    client: FlaskClient, history: None, manager: None
) -> None:
    page = text(client.get("/console/dashboard"))
    assert 'name="from" value="2026-02-13"' in page and 'name="to" value="2026-03-14"' in page
    # Feb 13 .. Mar 14 (Moscow): the receipts of Feb 27, Mar 3, 4, 6 and 11.
    assert kpi(page, "receipts") == "5"
    for query in ("from=2026-03-10&to=2026-03-01", "from=2025-01-01&to=2026-03-01", "from=x"):
        bad = client.get(f"/console/dashboard?program=demo&{query}")
        assert bad.status_code == 422, query
        assert 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert client.get("/console/dashboard?program=demo&store=nowhere").status_code == 422
    assert client.get("/console/dashboard?program=nowhere").status_code == 404
    assert client.get("/console/dashboard.csv?program=demo&from=nope").status_code == 422


def test_the_csv_has_one_row_per_week(client: FlaskClient, history: None, manager: None) -> None:
    response = client.get(f"/console/dashboard.csv?{MARCH}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="dashboard-demo-2026-03-01-2026-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    # The KPI columns; the per-wallet-app columns after them: tests/web/test_wallet_dashboard.py
    assert [row[:10] for row in rows] == [
        [
            "week_start",
            "week_end",
            "receipts",
            "receipts_with_card",
            "revenue",
            "revenue_with_card",
            "average_check_with_card",
            "average_check_without_card",
            "card_revenue_share",
            "card_penetration",
        ],
        # B's refund (Mar 8) comes after the first week ends, so that week keeps 20.00.
        [
            "2026-03-01",
            "2026-03-07",
            "3",
            "2",
            "40.00",
            "30.00",
            "15.00",
            "10.00",
            "0.7500",
            "0.6667",
        ],
        ["2026-03-08", "2026-03-14", "1", "0", "10.00", "0.00", "", "10.00", "0.0000", "0.0000"],
        ["2026-03-15", "2026-03-21", "2", "2", "70.00", "70.00", "35.00", "", "1.0000", "1.0000"],
        ["2026-03-22", "2026-03-28", "1", "0", "10.00", "0.00", "", "10.00", "0.0000", "0.0000"],
        ["2026-03-29", "2026-03-31", "0", "0", "0.00", "0.00", "", "", "", ""],
    ]
    per_store = client.get(f"/console/dashboard.csv?{MARCH}&store=x")
    assert "dashboard-demo-x-2026-03-01" in per_store.headers["Content-Disposition"]


def _circles(svg: str, series: int) -> list[tuple[float, float]]:
    root = parse_svg(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-series") == str(series))
    return [(float(c.get("cx", "")), float(c.get("cy", ""))) for c in group.iter(f"{SVG}circle")]


def test_charts_place_points_proportionally() -> None:
    frame = Frame()
    svg = line_chart(
        chart_id="c",
        title="Average check <with & without>",
        labels=["w1", "w2", "w3", "w4"],
        series=[
            Series("with card", [0, 50, 100, 25], "#123456"),
            Series("without", [100, None, 50, 50], "#abcdef", dashed=True),
        ],
        y_format=lambda v: f"{v:.0f}",
    )
    root = parse_svg(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "Average check <with & without>"
    assert "with card: 0 (w1) → 25 (w4)" in (root.findtext(f"{SVG}desc") or "")
    points = _circles(svg, 0)
    xs = [x for x, _ in points]
    near = 0.06  # coordinates are written with one decimal
    assert xs == pytest.approx(x_positions(4, frame), abs=near)
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=2 * near)
    assert xs[3] - xs[2] == pytest.approx(xs[2] - xs[1], abs=2 * near)
    assert (xs[0], xs[-1]) == (frame.left, frame.width - frame.right)
    ys = [y for _, y in points]
    assert ys[0] == pytest.approx(frame.baseline)  # 0 on the axis
    assert ys[2] == pytest.approx(frame.top)  # 100 at the top tick
    assert ys[1] == pytest.approx((ys[0] + ys[2]) / 2, abs=near)
    assert ys[0] - ys[3] == pytest.approx((ys[0] - ys[2]) / 4, abs=near)
    # The gap breaks the dashed line in two; its point is left out.
    second = next(g for g in root.iter(f"{SVG}g") if g.get("data-series") == "1")
    lines = second.findall(f"{SVG}polyline")
    assert len(lines) == 2 and all(p.get("stroke-dasharray") for p in lines)
    assert len(_circles(svg, 1)) == 3
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g]
    assert "with card" in legend and "without" in legend
    ticks = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "grid" for t in g]
    assert [t for t in ticks if t] == ["0", "20", "40", "60", "80", "100"]


def test_charts_without_data_say_so_and_refuse_mismatched_series() -> None:
    svg = line_chart(
        chart_id="e",
        title="Share",
        labels=["a", "b"],
        series=[Series("share", [None, None], "#000")],
        y_format=str,
        y_max=1.0,
        empty_text="No purchases",
    )
    root = parse_svg(svg)
    assert "No purchases" in [t.text for t in root.iter(f"{SVG}text")]
    assert not list(root.iter(f"{SVG}circle"))
    one = line_chart(
        chart_id="one", title="t", labels=["only"], series=[Series("s", [5], "#000")], y_format=str
    )
    assert _circles(one, 0)[0][0] == pytest.approx(Frame().left + Frame().plot_width / 2)
    with pytest.raises(ValueError):
        line_chart(
            chart_id="x", title="t", labels=["a"], series=[Series("s", [], "#000")], y_format=str
        )


def test_nice_ticks() -> None:
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(1.0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(2375) == [0, 500, 1000, 1500, 2000, 2500]
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7)[-1] >= 7


def test_the_dashboard_shows_loyal_buyers_repeat_purchases_and_adoption(
    client: FlaskClient, session: Session, demo: Program, history: None, manager: None
) -> None:
    # Rule: two purchases within a year. At the end of March A (Mar 3, 20) and D (Nov, Mar 15)
    # are loyal, at its start nobody; they paid 4 000 + 4 000 of March's 12 500.
    demo.loyal_min_purchases = 2
    session.commit()
    page = text(client.get(f"/console/dashboard?{MARCH}"))
    assert kpi(page, "loyal_buyers") == "2 (—)"
    assert kpi(page, "loyal_revenue_share") == "64.0 %"
    # Four card purchases in March, A's second and D's are repeats.
    assert kpi(page, "repeat_purchase_share") == "50.0 %"
    assert kpi(page, "card_adoption") == "0.0 % (0 / 6)"
    assert 'id="chart-loyal"' in page and 'id="chart-repeat"' in page
    csv_text = client.get(f"/console/dashboard.csv?{MARCH}").get_data(as_text=True)
    header, *rows = csv_text.splitlines()
    columns = header.split(",")
    assert {"loyal_buyers", "repeat_purchase_share", "automated_revenue"} <= set(columns)
    last = dict(zip(columns, rows[-1].split(","), strict=True))
    assert last["loyal_buyers"] == "2"
