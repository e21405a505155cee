"""`walletpass users passwd|disable|enable|tokens|revoke-token|scope` (issue 17, findings
2 and 3), run as an operator would: a real subprocess, the password on standard input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.staff.passwords import verify_password
from tests.cli.test_commands import walletpass

OLD, NEW = "a long enough passphrase", "another long passphrase"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("users")
    assert walletpass(tmp, "db", "upgrade").returncode == 0
    assert walletpass(tmp, "demo", "seed").returncode == 0
    for email, role in (("boss@example.com", "admin"), ("mila@example.com", "marketer")):
        added = run(
            tmp,
            "users",
            "add",
            "--email",
            email,
            "--name",
            "X",
            "--role",
            role,
            "--password-stdin",
            "--program",
            "demo",
            stdin=OLD + "\n",
        )
        assert added.returncode == 0, added.stderr
    return tmp


def run(tmp: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(tmp / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(tmp / "certs"),
        "WALLETPASS_PUBLIC_URL": "https://shop.example.test",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def row(tmp: Path, sql: str) -> tuple[object, ...]:
    engine = create_engine(f"sqlite:///{tmp / 'instance' / 'walletpass.db'}")
    with engine.connect() as conn:
        found = conn.execute(text(sql)).one()
    engine.dispose()
    return tuple(found)


def test_passwd_asks_twice_and_ends_the_sessions(workdir: Path) -> None:
    query = "SELECT password_hash, session_version FROM staff_users WHERE email='mila@example.com'"
    _, version = row(workdir, query)
    differ = run(
        workdir, "users", "passwd", "--email", "mila@example.com", stdin=f"{NEW}\nx{NEW}\n"
    )
    assert differ.returncode != 0 and "the two passwords differ" in differ.stderr
    weak = run(workdir, "users", "passwd", "--email", "mila@example.com", stdin="short\nshort\n")
    assert weak.returncode != 0 and "at least 10 characters" in weak.stderr
    done = run(workdir, "users", "passwd", "--email", "mila@example.com", stdin=f"{NEW}\n{NEW}\n")
    assert done.returncode == 0, done.stderr
    stored, new_version = row(workdir, query)
    assert verify_password(NEW, str(stored)) and not verify_password(OLD, str(stored))
    assert new_version == int(str(version)) + 1
    unknown = run(workdir, "users", "passwd", "--email", "who@example.com", stdin=f"{NEW}\n{NEW}\n")
    assert unknown.returncode != 0 and "no staff user" in unknown.stderr


def test_disable_enable_and_the_last_admin(workdir: Path) -> None:
    assert run(workdir, "users", "disable", "--email", "mila@example.com").returncode == 0
    assert row(
        workdir, "SELECT disabled_at IS NOT NULL FROM staff_users WHERE email='mila@example.com'"
    ) == (1,)
    assert run(workdir, "users", "enable", "--email", "mila@example.com").returncode == 0
    last = run(workdir, "users", "disable", "--email", "boss@example.com")
    assert last.returncode != 0 and "last enabled admin" in last.stderr


def test_tokens_are_listed_and_revoked(workdir: Path) -> None:
    made = run(workdir, "users", "token", "--email", "mila@example.com", "--name", "crm")
    secret = made.stdout.strip()
    listed = run(workdir, "users", "tokens", "--email", "mila@example.com").stdout
    token_id, prefix, name, _, state = listed.strip().splitlines()[-1].split("\t")
    assert prefix in secret
    assert (name, state) == ("crm", "active") and secret not in listed
    revoked = run(workdir, "users", "revoke-token", token_id)
    assert revoked.returncode == 0, revoked.stderr
    listed = run(workdir, "users", "tokens", "--email", "mila@example.com").stdout
    assert listed.strip().splitlines()[-1].split("\t")[-1] != "active"
    missing = run(workdir, "users", "revoke-token", "999")
    assert missing.returncode != 0 and "no API token 999" in missing.stderr


def test_scope_sets_programs_and_stores(workdir: Path) -> None:
    added = run(
        workdir,
        "users",
        "add",
        "--email",
        "ivan@example.com",
        "--name",
        "Ivan",
        "--role",
        "store_manager",
        "--password-stdin",
        stdin=OLD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert row(
        workdir,
        "SELECT count(*) FROM staff_programs JOIN staff_users "
        "ON staff_users.id = user_id WHERE email='ivan@example.com'",
    ) == (0,)
    bad = run(
        workdir,
        "users",
        "scope",
        "--email",
        "ivan@example.com",
        "--program",
        "demo",
        "--store",
        "demo/nowhere",
    )
    assert bad.returncode != 0 and "no store 'demo/nowhere'" in bad.stderr
    code = row(workdir, "SELECT code FROM stores")[0]
    done = run(
        workdir,
        "users",
        "scope",
        "--email",
        "ivan@example.com",
        "--program",
        "demo",
        "--store",
        f"demo/{code}",
    )
    assert done.returncode == 0, done.stderr
    assert row(workdir, "SELECT count(*) FROM staff_stores") == (1,)
