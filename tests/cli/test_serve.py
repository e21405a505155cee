"""`walletpass serve`, the production web server, run as an operator would."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.passes.apple.certs import DevChain
from tests.cli.test_commands import walletpass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production_env(tmp: Path, chain: DevChain) -> dict[str, str]:
    return {
        "WALLETPASS_ENV": "production",
        "WALLETPASS_SECRET_KEY": "s" * 40,
        "WALLETPASS_APPLE_CERT": str(chain.pass_p12),
        "WALLETPASS_APPLE_WWDR_CERT": str(chain.wwdr_cert),
        "WALLETPASS_APPLE_PASS_TYPE_ID": "pass.test.walletpass.loyalty",
        "WALLETPASS_APPLE_TEAM_ID": "TESTTEAM42",
        "WALLETPASS_DATABASE_URL": f"sqlite:///{tmp / 'prod.db'}",
    }


def test_serve_refuses_a_database_behind_the_code(tmp_path: Path) -> None:
    result = walletpass(tmp_path, "serve", "--port", str(free_port()))
    assert result.returncode != 0
    assert "migration none (empty)" in result.stderr
    assert "walletpass db upgrade" in result.stderr


def test_serve_refuses_development_certificates_in_production(
    tmp_path: Path, dev_chain: DevChain
) -> None:
    env = production_env(tmp_path, dev_chain)
    assert walletpass(tmp_path, "db", "upgrade", **env).returncode == 0
    result = walletpass(tmp_path, "serve", "--port", str(free_port()), **env)
    assert result.returncode != 0
    assert "development certificate" in result.stderr


def test_a_missing_database_driver_names_the_extra(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(tmp_path / "instance"),
        "WALLETPASS_DATABASE_URL": "postgresql://shop@db.example.test/loyalty",
    }
    # An install without the extra: psycopg is hidden from this one subprocess.
    code = (
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'psycopg' else real(n, *a)\n"
        "from app.cli import main\n"
        "main(['db', 'upgrade'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "Error: configuration error: WALLETPASS_DATABASE_URL needs the Python package "
        "'psycopg', which is not installed: pip install 'walletpass[postgres]'"
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`walletpass serve --workers 2` on a migrated database with a program."""
    assert walletpass(tmp_path, "db", "upgrade").returncode == 0
    assert walletpass(tmp_path, "demo", "seed").returncode == 0
    port = free_port()
    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(tmp_path / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(tmp_path / "certs"),
        "WALLETPASS_PUBLIC_URL": "https://shop.example.test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.communicate()[0]) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def enroll(base: str, n: int) -> int:
    body = json.dumps(
        {"name": f"Shopper {n}", "phone": f"+7 900 555-{n:02d}-00", "consent": True}
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/programs/demo/enrollments",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_answers_concurrent_enrollments_from_two_processes(served: str) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: enroll(served, n), range(40)))
    # Both processes answered, and they enforced one shared limit of 30 per address an hour.
    assert sorted(statuses) == [201] * 30 + [429] * 10


def test_the_production_paths_import_no_fakes(tmp_path: Path, dev_chain: DevChain) -> None:
    """The web app and the worker with a real APNs URL load nothing from app.fakes."""
    env = {
        **os.environ,
        **production_env(tmp_path, dev_chain),
        "WALLETPASS_ENV": "test",  # test: dev certificates allowed, everything else as prod
        "WALLETPASS_INSTANCE_DIR": str(tmp_path / "instance"),
        "WALLETPASS_PUBLIC_URL": "https://shop.example.test",
        "WALLETPASS_APNS_URL": "https://127.0.0.1:9",
    }
    code = (
        "import sys\n"
        "import app.cli\n"
        "from app.bootstrap import build_services\n"
        "from app.web import create_app\n"
        "from app.worker.runtime import apns_sender\n"
        "services = build_services()\n"
        "create_app(services=services)\n"
        "with apns_sender(services):\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('app.fakes')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_serve_keeps_its_control_socket_in_the_instance_directory(
    served: str, tmp_path: Path
) -> None:
    """Not ~/.gunicorn/gunicorn.ctl, which every instance of the same user shared."""
    socket_file = tmp_path / "instance" / "gunicorn.ctl"
    deadline = time.monotonic() + 10
    while not socket_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert socket_file.is_socket()
    assert stat.S_IMODE(socket_file.stat().st_mode) & 0o077 == 0
