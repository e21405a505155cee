"""Issue 17, done means: random JSON, Unicode and query strings at every route of the
app answer anything but a 500.

Each example picks a route from ``app.url_map`` and one of its methods, fills the path
arguments with real values (the demo program, a card, ...) or random text, and sends a
random query string and body — JSON (deep nesting included), a form with a valid CSRF
token, or raw bytes — as a logged-in admin with the staff token and the terminal key
the route needs. The number of examples is bounded so the test runs in well under 60 s.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import staff, terminals
from tests.helpers import PASS_TYPE_ID, console_login

QUERY_NAMES = [
    "amount",
    "days",
    "from",
    "to",
    "program",
    "next",
    "lang",
    "store",
    "stages",
    "tiers",
    "wallet",
    "birthday_month",
    "store_id",
    "last_purchase_within_days",
    "no_purchase_for_days",
    "min_spend",
    "max_spend",
    "q",
    "size",
    "format",
    "passesUpdatedSince",
    "kind",
]
FORM_NAMES = [
    *QUERY_NAMES,
    "name",
    "offer_en",
    "offer_ru",
    "bonus_points",
    "bonus_days",
    "holdout_percent",
    "send",
    "send_at",
    "email",
    "password",
    "phone",
    "birthday",
    "consent",
    "points",
    "reason",
    "code",
    "quiet_start_hour",
    "quiet_end_hour",
    "newcomer_days",
    "at_risk_after_days",
    "lost_after_days",
    "frequency_cap_days",
    "android_wallet_apps",
    "background_color",
    "label_color",
    "foreground_color",
    "draft_fingerprint",
]
JSON_NAMES = [
    "name",
    "phone",
    "birthday",
    "email",
    "locale",
    "consent",
    "segment",
    "receipt_id",
    "refund_id",
    "amount",
    "barcode",
    "redeem_points",
    "lines",
    "send_at",
    "bonus_points",
    "bonus_days",
    "holdout_percent",
    "offer_en",
    "offer_ru",
    "logs",
    "pushToken",
    "stages",
    "tiers",
    "last_purchase_within_days",
]

texts = st.text(max_size=30)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["²", "٣", "1e30", "-1", "0", "99999999999999999999", "0001-01-01"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(JSON_NAMES), texts), inner, max_size=4),
    ),
    max_leaves=12,
)
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(JSON_NAMES), json_values, max_size=6),
    json_values,
)
raw_bodies = st.one_of(
    st.sampled_from([b"[" * 60_000, b"{" * 20_000, b'{"a":' * 5_000, b"\x00\xff", b""]),
    st.binary(max_size=200),
)
query_values = st.one_of(texts, numbers.map(str))
queries = st.lists(
    st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), texts), query_values), max_size=5
)
form_fields = st.lists(
    st.tuples(st.one_of(st.sampled_from(FORM_NAMES), texts), query_values), max_size=8
)


class Caller:
    def __init__(self, app: Flask, client: FlaskClient, values: dict[str, list[str]]) -> None:
        self.app = app
        self.client = client
        self.values = values
        self.rules = sorted(
            (
                (rule.rule, method)
                for rule in app.url_map.iter_rules()
                for method in sorted(rule.methods or ())
                if method not in ("HEAD", "OPTIONS") and rule.endpoint != "static"
            ),
        )
        self.csrf = ""
        self.staff_token = ""
        self.till_key = ""

    def refresh_csrf(self) -> None:
        page = self.client.get("/console/").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, "the console home shows no CSRF token: logged out?"
        self.csrf = match.group(1)

    def headers(self, path: str) -> dict[str, str]:
        if path.startswith("/api/pos/"):
            return {"Authorization": f"Bearer {self.till_key}"}
        if path.startswith("/api/"):
            return {"Authorization": f"Bearer {self.staff_token}"}
        return {}


@pytest.fixture
def caller(
    app: Flask, client: FlaskClient, session: Session, services: Services, demo: Program
) -> Caller:
    card = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Мария", "phone": "+7 916 555-44-33", "consent": True},
    ).get_json()
    public_id = card["links"]["card_page"].rsplit("/", 1)[1]
    values = {
        "slug": ["demo", "nope"],
        "public_id": [public_id],
        "number": [card["card"]["number"]],
        "code": [card["card"]["barcode"], card["card"]["number"]],
        "campaign_id": ["1", "999999", "1" * 24],
        "wallet": ["apple", "google"],
        "kind": ["logo", "strip", "icon"],
        "name": ["logo.png", "strip@2x.png"],
        "fmt": ["pdf", "png"],
        "pass_type_id": [PASS_TYPE_ID],
    }
    user = staff.add_user(
        session,
        services.clock,
        email="api@example.com",
        name="API",
        role="admin",
        password="a long enough passphrase",
        actor="test",
    )
    result = Caller(app, client, values)
    result.staff_token = staff.create_api_token(session, services.clock, user, "crm")
    _, result.till_key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    console_login(client, session, services, "admin")
    result.refresh_csrf()
    return result


def fill(rule: str, values: dict[str, list[str]], data: st.DataObject) -> str:
    def argument(match: re.Match[str]) -> str:
        name = match.group(2)
        known = values.get(name, [])
        value = data.draw(st.one_of(st.sampled_from(known), texts) if known else texts)
        return quote(value, safe="") or "x"

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", argument, rule)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_no_route_answers_500_to_random_input(caller: Caller, data: st.DataObject) -> None:
    rule, method = data.draw(st.sampled_from(caller.rules), label="route")
    path = fill(rule, caller.values, data)
    query = urlencode(data.draw(queries, label="query"))
    url = f"{path}?{query}" if query else path
    headers = caller.headers(path)
    kind = data.draw(st.sampled_from(["json", "form", "raw"]), label="body")
    kwargs: dict[str, Any] = {"headers": headers}
    if method != "GET":
        if kind == "json":
            kwargs["json"] = data.draw(json_bodies, label="json")
        elif kind == "form":
            fields = data.draw(form_fields, label="form")
            kwargs["data"] = MultiDict([("csrf_token", caller.csrf), *fields])
        else:
            kwargs["data"] = data.draw(raw_bodies, label="raw")
            kwargs["content_type"] = data.draw(
                st.sampled_from(["application/json", "image/png", "text/plain"])
            )
    if path.startswith("/console/logout"):
        return  # would end the session the other examples need
    response = caller.client.open(url, method=method, **kwargs)
    assert response.status_code < 500, (method, url, kind, response.get_data()[:300])
    if path.startswith("/console/login") and method == "POST":
        caller.refresh_csrf()  # a login with another account's data keeps ours
