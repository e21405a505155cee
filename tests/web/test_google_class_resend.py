"""Console changes that Google keeps on a program's class (its colours and logo, its
stores) queue the class for the worker once the change commits, and only when Google
Wallet is configured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import GoogleWallet, Services
from app.fakes.google_wallet import running_fake_google
from app.loyalty.models import Program
from app.passes.google.auth import AccessTokens
from app.passes.google.client import GoogleWalletClient
from app.settings import GoogleSettings
from tests.integration.test_google_client import make_account
from tests.web.test_console_campaigns import log_in
from tests.web.test_console_design import form, post

ISSUER = "3388000000022195345"


@pytest.fixture
def google(services: Services, tmp_path: Any) -> Iterator[None]:
    account = make_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with running_fake_google(ISSUER, service_account_public_key=account.public_key()) as fake:
        client = GoogleWalletClient(fake.api_url, AccessTokens(account, fake.token_url))
        settings = GoogleSettings(
            ISSUER, tmp_path / "unused.json", fake.api_url, fake.token_url, None
        )
        services.google = GoogleWallet(settings, account, client, None)
        try:
            yield
        finally:
            services.google = None
            client.close()


def class_syncs(services: Services) -> list[tuple[Any, ...]]:
    return [tuple(t.args) for t in services.queue.huey.pending() if t.name == "sync_google_class"]


def test_a_new_design_sends_the_class_again_once(
    client: FlaskClient, session: Session, services: Services, demo: Program, google: None
) -> None:
    log_in(client, session, services, "marketer")
    services.queue.huey.flush()
    assert post(client, form(demo, background_color="#0b6e4f")).status_code == 303
    assert class_syncs(services) == [(demo.id,)]
    services.queue.huey.flush()
    session.expire_all()
    assert post(client, form(demo)).status_code == 303  # the same values: nothing to send
    assert class_syncs(services) == []


def test_without_google_wallet_nothing_is_sent(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "marketer")
    services.queue.huey.flush()
    assert post(client, form(demo, background_color="#0b6e4f")).status_code == 303
    assert class_syncs(services) == []


def test_a_new_store_sends_the_class_again(
    client: FlaskClient, session: Session, services: Services, demo: Program, google: None
) -> None:
    log_in(client, session, services, "marketer")
    page = client.get("/console/programs/demo/stores").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    services.queue.huey.flush()
    added = client.post(
        "/console/programs/demo/stores",
        data={
            "csrf_token": token,
            "code": "spb-nevsky",
            "name": "Little Steps Nevsky",
            "latitude": "59.9343",
            "longitude": "30.3351",
        },
    )
    assert added.status_code == 303
    assert class_syncs(services) == [(demo.id,)]
