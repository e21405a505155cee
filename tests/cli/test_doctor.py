"""`walletpass doctor` run as an operator would, against real loopback fakes."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.bootstrap import alembic_config, upgrade_database
from app.fakes.apns import FakeApns, running_fake_apns
from app.fakes.google_wallet import FakeGoogleWallet, running_fake_google
from app.fakes.tls import ServerCert, make_server_cert
from app.passes.apple.certs import DevChain, generate_dev_chain
from tests.helpers import PASS_TYPE_ID, TEAM_ID

REPO = Path(__file__).resolve().parents[2]
ISSUER = "3388000000022195345"


def doctor(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WALLETPASS_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "doctor"],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=cwd,  # no stray .env from the checkout
        timeout=120,
        check=False,
    )


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """check name -> its whole line (the lines of a check with several, joined)."""
    out: dict[str, str] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        assert len(parts) >= 3, line
        out[parts[1]] = f"{out[parts[1]]}\n{line}" if parts[1] in out else line
    return out


def chain_at(out: Path, issued: datetime) -> DevChain:
    return generate_dev_chain(out, PASS_TYPE_ID, TEAM_ID, now=issued)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevChain:
    return chain_at(tmp_path_factory.mktemp("chain"), datetime.now(UTC))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerCert:
    return make_server_cert(tmp_path_factory.mktemp("apns-tls"))


@pytest.fixture(scope="module")
def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


@pytest.fixture(scope="module")
def google_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def google(google_key: rsa.RSAPrivateKey) -> Iterator[FakeGoogleWallet]:
    with running_fake_google(ISSUER, service_account_public_key=google_key.public_key()) as fake:
        yield fake


def service_account(path: Path, key: rsa.RSAPrivateKey) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "client_email": "wp@walletpass-test.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "k1",
    }
    path.write_text(json.dumps(info))
    return path


def fake_apns(tls: ServerCert, chain: DevChain, **kw: Any) -> Any:
    bundle = chain.root_cert.parent / "client-ca.pem"  # the root and the WWDR intermediate
    bundle.write_bytes(chain.root_cert.read_bytes() + chain.wwdr_cert.read_bytes())
    kw.setdefault("client_ca", bundle)
    return running_fake_apns(server_cert=tls.cert, server_key=tls.key, topic=PASS_TYPE_ID, **kw)


RELAY: dict[str, str] = {}  # the stand-in relay host of this module (see ``relay_host``)


@pytest.fixture(scope="module", autouse=True)
def relay_host(tls: ServerCert) -> Iterator[None]:
    """A TLS listener standing in for Wallet Passes' relay host, whose documented
    https endpoint is on by default with real certificates (doctor only connects)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    RELAY.update(
        url=f"https://127.0.0.1:{server.getsockname()[1]}/api/v1/push", ca=str(tls.ca_cert)
    )
    yield
    stop.set()
    thread.join()
    server.close()


def environment(tmp: Path, chain: DevChain, tls: ServerCert, apns_port: int) -> dict[str, str]:
    """A test deployment: explicit pass certificate, migrated SQLite, SQLite queue."""
    database = tmp / "walletpass.db"
    if not database.exists():
        upgrade_database(f"sqlite:///{database}")
    return {
        "WALLETPASS_ENV": "test",
        "WALLETPASS_INSTANCE_DIR": str(tmp / "instance"),
        "WALLETPASS_DATABASE_URL": f"sqlite:///{database}",
        "WALLETPASS_QUEUE_URL": f"sqlite:///{tmp / 'queue.db'}",
        "WALLETPASS_PUBLIC_URL": "https://wallet.example.test",
        "WALLETPASS_SECRET_KEY": "doctor-test-secret-" + "x" * 32,
        "WALLETPASS_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
        "WALLETPASS_APPLE_TEAM_ID": TEAM_ID,
        "WALLETPASS_APPLE_CERT": str(chain.pass_p12),
        "WALLETPASS_APPLE_WWDR_CERT": str(chain.wwdr_cert),
        "WALLETPASS_APNS_URL": f"https://127.0.0.1:{apns_port}",
        "WALLETPASS_APNS_CA_FILE": str(tls.ca_cert),
        "WALLETPASS_PUSH_WALLETPASSES_URL": RELAY["url"],
        "SSL_CERT_FILE": RELAY["ca"],  # OpenSSL's trust store for this process: our test CA
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


def test_everything_ok_exits_0_and_sends_no_push(
    tmp_path: Path,
    chain: DevChain,
    tls: ServerCert,
    head: str,
    google: FakeGoogleWallet,
    google_key: rsa.RSAPrivateKey,
) -> None:
    account = service_account(tmp_path / "google.json", google_key)
    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port) | {
            "WALLETPASS_GOOGLE_ISSUER_ID": ISSUER,
            "WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE": str(account),
            "WALLETPASS_GOOGLE_TOKEN_URL": google.token_url,
        }
        tokens_before = len(google.tokens)
        result = doctor(tmp_path, env)
        assert isinstance(apns, FakeApns)
        assert apns.connections == 1 and apns.requests == 0  # a handshake, no push
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines(result)
    assert list(checks) == [
        "settings", "certs", "database", "queue", "limits", "apns", "google", "relays"
    ]  # fmt: skip
    assert checks["settings"].startswith("ok   settings  test, public URL")
    assert checks["certs"].startswith("ok   certs     pass certificate " + PASS_TYPE_ID)
    assert "expires in 364 days" in checks["certs"]
    assert checks["database"] == f"ok   database  sqlite reachable, migrations at head ({head})"
    assert checks["queue"].startswith("ok   queue     sqlite reachable, 0 tasks waiting")
    assert checks["apns"].startswith("ok   apns      TLSv1.3 with ALPN h2 to 127.0.0.1:")
    assert "client certificate accepted" in checks["apns"]
    assert checks["google"].startswith(f"ok   google    access token from {google.token_url}")
    assert len(google.tokens) == tokens_before + 1
    assert not any(token in result.stdout for token in google.tokens)  # never printed
    port = RELAY["url"].split(":")[2].split("/")[0]
    assert checks["relays"].splitlines() == [
        "skip relays    pass2u: off (WALLETPASS_PUSH_PASS2U_KEY is not set)",
        "skip relays    passhub: off (WALLETPASS_PUSH_PASSHUB_KEY is not set)",
        "skip relays    passworks: off (WALLETPASS_PUSH_PASSWORKS_KEY is not set)",
        f"ok   relays    walletpasses: TLSv1.3 with 127.0.0.1:{port}",
        "skip relays    walletunion: off (WALLETPASS_PUSH_WALLETUNION_URL is not set)",
    ]


def test_database_behind_head_fails(
    tmp_path: Path, chain: DevChain, tls: ServerCert, head: str
) -> None:
    upgrade_database(f"sqlite:///{tmp_path / 'walletpass.db'}", "0001")
    with fake_apns(tls, chain) as apns:
        result = doctor(tmp_path, environment(tmp_path, chain, tls, apns.port))
    assert result.returncode == 1
    assert lines(result)["database"] == (
        f"FAIL database  sqlite reachable, at 0001 but head is {head}: run `walletpass db upgrade`"
    )
    assert lines(result)["apns"].startswith("ok   apns")  # the other checks still ran


def test_a_database_newer_than_the_code_says_to_upgrade_this_machine(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    import sqlite3

    database = tmp_path / "walletpass.db"
    upgrade_database(f"sqlite:///{database}")
    with sqlite3.connect(database) as conn:  # as if a newer walletpass had migrated it
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with fake_apns(tls, chain) as apns:
        result = doctor(tmp_path, environment(tmp_path, chain, tls, apns.port))
    assert result.returncode == 1
    assert "at 9999, newer than this code" in lines(result)["database"]
    assert "upgrade walletpass on this machine" in lines(result)["database"]


def test_missing_database_file_is_not_created(tmp_path: Path, chain: DevChain) -> None:
    env = environment(tmp_path, chain, make_server_cert(tmp_path / "tls"), closed_port())
    missing = tmp_path / "nowhere.db"
    result = doctor(tmp_path, env | {"WALLETPASS_DATABASE_URL": f"sqlite:///{missing}"})
    assert result.returncode == 1
    assert "does not exist: run `walletpass db upgrade`" in lines(result)["database"]
    assert not missing.exists()


def test_apns_unreachable_fails(tmp_path: Path, chain: DevChain, tls: ServerCert) -> None:
    port = closed_port()
    result = doctor(tmp_path, environment(tmp_path, chain, tls, port))
    assert result.returncode == 1
    apns = lines(result)["apns"]
    assert apns.startswith(f"FAIL apns      TLS handshake with 127.0.0.1:{port} failed:")
    assert "refused" in apns.lower()
    assert lines(result)["database"].startswith("ok   database")


def test_apns_refusing_the_client_certificate_fails(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    # The fake trusts another CA: the TLS 1.3 handshake completes, then the server
    # refuses the certificate; doctor must wait for that answer, not report ok.
    with fake_apns(tls, chain, client_ca=tls.ca_cert) as apns:
        result = doctor(tmp_path, environment(tmp_path, chain, tls, apns.port))
    assert result.returncode == 1
    apns_line = lines(result)["apns"]
    assert apns_line.startswith("FAIL apns"), apns_line
    assert "certificate" in apns_line.lower()


def test_a_certificate_expiring_soon_warns_with_the_days(tmp_path: Path, tls: ServerCert) -> None:
    chain = chain_at(tmp_path / "chain", datetime.now(UTC) - timedelta(days=350))
    with fake_apns(tls, chain) as apns:
        result = doctor(tmp_path, environment(tmp_path, chain, tls, apns.port))
    assert result.returncode == 0, result.stdout  # a warning, not a failure
    certs = lines(result)["certs"]
    assert certs.startswith("warn certs     pass certificate")
    assert "expires in 14 days" in certs and "renew it now" in certs


def test_an_expired_certificate_fails_with_the_date(tmp_path: Path, tls: ServerCert) -> None:
    issued = datetime.now(UTC) - timedelta(days=400)
    chain = chain_at(tmp_path / "chain", issued)
    with fake_apns(tls, chain) as apns:
        result = doctor(tmp_path, environment(tmp_path, chain, tls, apns.port))
    assert result.returncode == 1
    certs = lines(result)["certs"]
    expired = issued + timedelta(days=365)
    assert certs.startswith("FAIL certs     pass certificate")
    assert f"expired 36 days ago ({expired:%Y-%m-%d})" in certs
    assert f"expired on {expired:%Y-%m-%d}" in certs
    assert lines(result)["apns"].startswith("FAIL apns")  # APNs refuses it too


def test_google_refusing_the_key_fails(
    tmp_path: Path, chain: DevChain, tls: ServerCert, google: FakeGoogleWallet
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = service_account(tmp_path / "google.json", other)
    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port) | {
            "WALLETPASS_GOOGLE_ISSUER_ID": ISSUER,
            "WALLETPASS_GOOGLE_SERVICE_ACCOUNT_FILE": str(account),
            "WALLETPASS_GOOGLE_TOKEN_URL": google.token_url,
        }
        result = doctor(tmp_path, env)
    assert result.returncode == 1
    google_line = lines(result)["google"]
    assert google_line.startswith("FAIL google    token request failed (400)")
    assert "invalid_grant" in google_line


def test_a_settings_error_is_a_fail_line_not_a_traceback(tmp_path: Path) -> None:
    result = doctor(tmp_path, {"WALLETPASS_ENV": "staging"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    checks = lines(result)
    assert checks["settings"].startswith("FAIL settings  WALLETPASS_ENV='staging': expected one of")
    assert checks["database"] == "skip database  skipped: the settings did not load"


def test_development_skips_apns(tmp_path: Path, chain: DevChain) -> None:
    env = environment(tmp_path, chain, make_server_cert(tmp_path / "tls"), closed_port())
    for name in ("WALLETPASS_APNS_URL", "WALLETPASS_APPLE_CERT", "WALLETPASS_APPLE_WWDR_CERT"):
        env.pop(name)
    env |= {"WALLETPASS_ENV": "development", "WALLETPASS_DEV_CERTS_DIR": str(tmp_path / "dev")}
    result = doctor(tmp_path, env)
    assert result.returncode == 0, result.stdout
    checks = lines(result)
    assert checks["apns"] == "skip apns      skipped: development uses a local fake APNs"
    assert checks["certs"].startswith("ok   certs     development chain")


def test_a_development_certificate_fails_in_production(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port) | {"WALLETPASS_ENV": "production"}
        result = doctor(tmp_path, env)
    assert result.returncode == 1
    certs = lines(result)["certs"]
    assert certs.startswith("FAIL certs") and "development certificate in production" in certs


def test_shared_rate_limit_counters_in_an_unreachable_redis_fail(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port)
        port = closed_port()
        result = doctor(
            tmp_path, env | {"WALLETPASS_RATE_LIMIT_URL": f"redis://127.0.0.1:{port}/0"}
        )
    assert result.returncode == 1
    assert lines(result)["limits"].startswith("FAIL limits    redis unreachable:")


def test_shared_rate_limit_counters_in_redis_are_checked(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    from tests.helpers import redis_url

    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port)
        result = doctor(tmp_path, env | {"WALLETPASS_RATE_LIMIT_URL": redis_url()})
    assert result.returncode == 0, result.stdout
    assert lines(result)["limits"] == (
        "ok   limits    redis reachable, counters shared by every web process"
    )


def test_a_configured_relay_is_reached_and_an_unreachable_one_fails(
    tmp_path: Path, chain: DevChain, tls: ServerCert
) -> None:
    closed = closed_port()
    with fake_apns(tls, chain) as apns:
        env = environment(tmp_path, chain, tls, apns.port) | {
            "WALLETPASS_PUSH_PASSWORKS_URL": f"https://127.0.0.1:{closed}/v1/pushUpdate",
            "WALLETPASS_PUSH_PASSWORKS_KEY": "passworks-key-1",
        }
        result = doctor(tmp_path, env)
    assert result.returncode == 1
    relays = lines(result)["relays"].splitlines()
    assert relays[3].startswith("ok   relays    walletpasses: TLSv1.3 with 127.0.0.1:")
    assert relays[2].startswith(f"FAIL relays    passworks: 127.0.0.1:{closed} unreachable:")
