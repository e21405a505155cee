"""Google's callback root keys: fetched by the worker by their Cache-Control lifetime
from a loopback HTTP server, stored for the web; never fetched by the CLI or the web."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import GoogleWallet, Services, build_google
from app.fakes.google_signer import FakeGoogle, new_key, spki
from app.fakes.google_wallet import running_fake_google
from app.loyalty.models import Program
from app.passes.google.auth import AccessTokens, ServiceAccount
from app.passes.google.client import GoogleWalletClient
from app.passes.google.root_keys import max_age
from app.services import google_keys
from app.settings import GoogleSettings, SettingsError
from app.worker import handlers
from tests.conftest import make_settings
from tests.helpers import fixed_clock
from tests.integration.test_google_flow import ISSUER, enroll, saved_object


class KeysServer:
    """Serves a key list on loopback with a Cache-Control header; counts requests."""

    def __init__(self, body: str, cache_control: str) -> None:
        self.body, self.cache_control, self.status = body, cache_control, 200
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                data = server.body.encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/gp/m/issuer/keys"

    def __enter__(self) -> KeysServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def published(signer: FakeGoogle) -> str:
    return json.dumps(
        {"keys": [{"keyValue": spki(signer.root), "protocolVersion": "ECv2SigningOnly"}]}
    )


@pytest.fixture(scope="module")
def signer() -> FakeGoogle:
    return FakeGoogle(new_key(), new_key())


@pytest.fixture(scope="module")
def account_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path_factory.mktemp("google") / "account.json"
    info = {"client_email": "wp@walletpass-test.iam.gserviceaccount.com", "private_key": pem}
    path.write_text(json.dumps({**info, "private_key_id": "k1"}))
    return path


@pytest.fixture
def keys_server(signer: FakeGoogle) -> Iterator[KeysServer]:
    with KeysServer(published(signer), "public, max-age=120") as server:
        yield server


@pytest.fixture
def google(services: Services, account_file: Path, keys_server: KeysServer) -> Iterator[Any]:
    account = ServiceAccount.from_file(account_file)
    with running_fake_google(ISSUER, service_account_public_key=account.public_key()) as fake:
        client = GoogleWalletClient(
            fake.api_url, AccessTokens(account, fake.token_url), rate_per_second=1000.0
        )
        settings = GoogleSettings(
            ISSUER, account_file, fake.api_url, fake.token_url, keys_server.url
        )
        services.google = GoogleWallet(settings, account, client, verifier=None)
        try:
            yield fake
        finally:
            services.google = None
            client.close()


def callback(client: FlaskClient, signer: FakeGoogle, services: Services, object_id: str) -> Any:
    now_ms = int(services.clock.now().timestamp() * 1000)
    body = signer.body(
        exp_time_ms=now_ms + 60_000,
        key_expiration_ms=now_ms + 3_600_000,
        class_id=f"{ISSUER}.demo",
        object_id=object_id,
        nonce=f"n-{now_ms}",
    )
    return client.post("/google/callbacks", data=body, content_type="application/json")


def test_building_services_fetches_no_keys(
    tmp_path: Path, account_file: Path, keys_server: KeysServer
) -> None:
    """Every CLI command and web start builds services: none of them fetches the keys."""
    settings = make_settings(
        tmp_path,
        WALLETPASS_GOOGLE_ISSUER_ID=ISSUER,
        WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE=str(account_file),
        WALLETPASS_GOOGLE_ROOT_KEYS=keys_server.url,
    )
    google = build_google(settings)
    assert google is not None and google.settings.root_keys_url == keys_server.url
    assert keys_server.requests == 0
    google.client.close()
    with pytest.raises(SettingsError, match="WALLETPASS_GOOGLE_ROOT_KEYS"):
        make_settings(
            tmp_path,
            WALLETPASS_GOOGLE_ISSUER_ID=ISSUER,
            WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE=str(account_file),
            WALLETPASS_GOOGLE_ROOT_KEYS="http://keys.example.com/keys",  # plain http off loopback
        )


def test_the_worker_refreshes_the_keys_by_their_lifetime_and_the_web_reads_them(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: Any,
    signer: FakeGoogle,
    keys_server: KeysServer,
) -> None:
    obj = saved_object(client, enroll(client, "+7 922 400-00-01")["links"])
    # No keys stored yet: 503 (Google delivers the callback again), and no fetch by the web.
    early = callback(client, signer, services, obj["id"])
    assert early.status_code == 503 and early.headers["Retry-After"] == "60"
    assert keys_server.requests == 0

    assert handlers.refresh_google_keys(services) is True
    assert keys_server.requests == 1
    saved = callback(client, signer, services, obj["id"])
    assert saved.status_code == 200 and saved.json == {"result": "saved"}

    # Within max-age=120 nothing is fetched, at the end of it the worker fetches again.
    fixed_clock(services).advance(seconds=119)
    assert handlers.refresh_google_keys(services) is False and keys_server.requests == 1
    fixed_clock(services).advance(seconds=2)
    keys_server.cache_control = "max-age=3600"
    assert handlers.refresh_google_keys(services) is True and keys_server.requests == 2
    with services.transaction(write=False) as s:
        row = google_keys.stored(s, keys_server.url)
        assert row is not None and (row.expires_at - row.fetched_at).total_seconds() == 3600

    # Google down when the copy runs out: the old keys keep verifying callbacks.
    fixed_clock(services).advance(seconds=3601)
    keys_server.status = 500
    assert handlers.refresh_google_keys(services) is False and keys_server.requests == 3
    again = callback(client, signer, services, obj["id"])
    assert again.status_code == 200

    # A rotated key list that lacks the signer's key: its callbacks are refused.
    keys_server.status, keys_server.body = 200, published(FakeGoogle(new_key(), new_key()))
    assert handlers.refresh_google_keys(services) is True
    refused = callback(client, signer, services, obj["id"])
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid_callback"


def test_garbage_is_never_stored(
    services: Services, google: Any, keys_server: KeysServer, signer: FakeGoogle
) -> None:
    for body in ("<html>sorry</html>", json.dumps({"keys": []})):
        keys_server.body = body
        assert handlers.refresh_google_keys(services) is False
    with services.transaction(write=False) as s:
        assert google_keys.stored(s, keys_server.url) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=3600", 3600),
        ("max-age=86400, must-revalidate", 86400),
        ('max-age="60"', 60),
        ("public", None),
        (None, None),
        ("no-cache", 0),
        ("s-maxage=10", None),
    ],
)
def test_max_age_is_read_from_cache_control(header: str | None, seconds: int | None) -> None:
    assert max_age(header) == seconds
