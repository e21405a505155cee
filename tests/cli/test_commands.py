"""The walletpass command line, run as an operator would (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image


def walletpass(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(tmp / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(tmp / "certs"),
        "WALLETPASS_PUBLIC_URL": "https://shop.example.test",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    assert walletpass(tmp, "db", "upgrade").returncode == 0
    seeded = walletpass(tmp, "demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    return tmp


def test_certs_dev_creates_a_chain_and_check_reports_it(tmp_path: Path) -> None:
    created = walletpass(tmp_path, "certs", "dev")
    assert created.returncode == 0, created.stderr
    for name in ("root.pem", "wwdr.pem", "pass.pem", "pass-key.pem", "pass.p12"):
        assert (tmp_path / "certs" / name).is_file()
    assert oct((tmp_path / "certs" / "pass-key.pem").stat().st_mode & 0o777) == "0o600"
    again = walletpass(tmp_path, "certs", "dev")
    assert "already exist" in again.stdout
    checked = walletpass(tmp_path, "certs", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "pass.dev.walletpass.loyalty" in checked.stdout
    assert "days" in checked.stdout


def test_certs_check_fails_loudly_on_a_pass_type_mismatch(tmp_path: Path) -> None:
    assert walletpass(tmp_path, "certs", "dev").returncode == 0
    wrong = walletpass(tmp_path, "certs", "check", WALLETPASS_APPLE_PASS_TYPE_ID="pass.other.id")
    assert wrong.returncode == 1
    assert "ERROR" in wrong.stderr and "pass.other.id" in wrong.stderr


def test_poster_command_writes_a_scannable_png(workdir: Path) -> None:
    out = workdir / "poster.png"
    result = walletpass(workdir, "poster", "demo", "-o", str(out), "--size", "a5")
    assert result.returncode == 0, result.stderr
    codes = zxingcpp.read_barcodes(Image.open(out))
    assert [c.text for c in codes] == ["https://shop.example.test/join/demo"]


def test_poster_command_explains_bad_input(workdir: Path) -> None:
    unknown = walletpass(workdir, "poster", "nope", "-o", str(workdir / "x.png"))
    assert unknown.returncode != 0 and "no loyalty program 'nope'" in unknown.stderr
    bad_ext = walletpass(workdir, "poster", "demo", "-o", str(workdir / "x.gif"))
    assert bad_ext.returncode != 0 and ".png or .pdf" in bad_ext.stderr


def test_a_bad_setting_is_reported_by_name(tmp_path: Path) -> None:
    result = walletpass(tmp_path, "db", "upgrade", WALLETPASS_MAX_REQUEST_BYTES="huge")
    assert result.returncode != 0
    assert "WALLETPASS_MAX_REQUEST_BYTES" in result.stderr


def test_passes_logs_shows_what_phones_reported(workdir: Path) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO apple_device_logs (received_at, reason, serial_number, message) "
                "VALUES ('2026-03-14 10:00:00', 'http_401', 'Xy12', 'Get pass task ... 401')"
            )
        )
    engine.dispose()
    result = walletpass(workdir, "passes", "logs")
    assert result.returncode == 0, result.stderr
    assert "http_401: the web service refused the pass's authentication token" in result.stdout
    assert "serial Xy12" in result.stdout
    none = walletpass(workdir, "passes", "logs", "--reason", "invalid_pass")
    assert "no log messages" in none.stdout


def test_terminal_keys_are_printed_once_stored_hashed_and_revocable(workdir: Path) -> None:
    from sqlalchemy import create_engine, text

    added = walletpass(workdir, "terminals", "add", "--program", "demo", "--name", "Till CLI")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("wpt_")
    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_prefix, key_hash FROM terminals")).all()
    engine.dispose()
    assert all(key not in row.key_hash for row in stored)  # never the key itself
    prefix = key.split("_")[1]
    listed = walletpass(workdir, "terminals", "list", "--program", "demo")
    assert prefix in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    duplicate = walletpass(workdir, "terminals", "add", "--program", "demo", "--name", "Till CLI")
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    revoked = walletpass(workdir, "terminals", "revoke", "--program", "demo", prefix)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "revoked" in walletpass(workdir, "terminals", "list", "--program", "demo").stdout


def test_jobs_run_daily_reports_what_it_did(workdir: Path) -> None:
    result = walletpass(workdir, "jobs", "run-daily")
    assert result.returncode == 0, result.stderr
    assert "birthday bonuses: 0; expired points: 0 on 0 cards" in result.stdout


def test_cards_set_tier_needs_a_reason_for_staff_tiers(workdir: Path) -> None:
    enroll = (
        "from app.bootstrap import build_services\n"
        "from app.services import enrollment, programs\n"
        "s = build_services()\n"
        "with s.transaction() as db:\n"
        "    p = programs.get_program(db, 'demo')\n"
        "    f = enrollment.EnrollmentForm(name='T', phone='+79009990000', consent=True)\n"
        "    d = enrollment.validate(f, p, s.clock.now().date())\n"
        "    print(enrollment.enroll(db, s.clock, p, d).number)\n"
    )
    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(workdir / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(workdir / "certs"),
    }
    out = subprocess.run(
        [sys.executable, "-c", enroll], capture_output=True, text=True, check=True, env=env
    )
    number = out.stdout.strip().splitlines()[-1]
    missing = walletpass(workdir, "cards", "set-tier", "--program", "demo", number, "large_family")
    assert missing.returncode != 0 and "needs a reason" in missing.stderr
    unknown = walletpass(workdir, "cards", "set-tier", "--program", "demo", number, "gold")
    assert unknown.returncode != 0 and "unknown tier 'gold'" in unknown.stderr
    done = walletpass(
        workdir,
        "cards",
        "set-tier",
        "--program",
        "demo",
        number,
        "large_family",
        "--reason",
        "three children",
    )
    assert done.returncode == 0, done.stderr
    assert "large_family (15 % off)" in done.stdout


def test_push_stats_and_resume(workdir: Path) -> None:
    from sqlalchemy import create_engine, text

    stats = walletpass(workdir, "push", "stats")
    assert stats.returncode == 0, stats.stderr
    assert "passes owed to devices:" in stats.stdout and "queue:" in stats.stdout
    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO push_alarms (channel, reason, message, raised_at) VALUES "
                "('apns', 'config_error', 'APNs refused our credentials: 403 BadCertificate', "
                "'2026-03-14 10:00:00')"
            )
        )
    engine.dispose()
    alarmed = walletpass(workdir, "push", "stats")
    assert "ALARM: config_error" in alarmed.stderr and "BadCertificate" in alarmed.stderr
    resumed = walletpass(workdir, "push", "resume")
    assert "alarm cleared" in resumed.stdout
    assert "ALARM" not in walletpass(workdir, "push", "stats").stderr


def test_push_stats_counts_passes_that_fail_to_render_with_their_reasons(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    assert walletpass(tmp_path, "db", "upgrade").returncode == 0
    assert walletpass(tmp_path, "demo", "seed").returncode == 0
    source = tmp_path / "base.csv"
    source.write_text("phone,name\n+79008887701,A\n+79008887702,B\n+79008887703,C\n")
    imported = walletpass(
        tmp_path, "members", "import", "--program", "demo", "--apply", str(source)
    )
    assert imported.returncode == 0, imported.stderr
    clean = walletpass(tmp_path, "push", "stats")
    assert clean.returncode == 0 and "passes that fail to render: 0" in clean.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'walletpass.db'}")
    with engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM wallet_passes ORDER BY id")).scalars().all()
        assert len(ids) == 3
        reasons = ["TemplateError: gone", "TemplateError: gone", "KeyError"]
        for pass_id, reason in zip(ids, reasons, strict=True):
            conn.execute(
                text(
                    "INSERT INTO pass_render_failures (pass_id, reason, failures, "
                    "first_failed_at, last_failed_at, retry_at) VALUES (:id, :reason, 3, "
                    "'2020-01-01 10:00:00', '2020-01-01 10:00:00', '2020-01-01 10:04:00')"
                ),
                {"id": pass_id, "reason": reason},
            )
    engine.dispose()
    stats = walletpass(tmp_path, "push", "stats")
    assert stats.returncode == 0, stats.stderr
    lines = stats.stdout.splitlines()
    start = lines.index("passes that fail to render: 3, next try in 0 s")
    assert lines[start + 1 : start + 3] == ["  2 x TemplateError: gone", "  1 x KeyError"]


def test_users_add_creates_the_first_admin_with_a_hashed_password(workdir: Path) -> None:
    from sqlalchemy import create_engine, text

    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(workdir / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(workdir / "certs"),
    }
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "users",
        "add",
        "--email",
        "boss@example.com",
        "--name",
        "Boss",
        "--password-stdin",
    ]
    weak = subprocess.run(
        command, input="short\n", capture_output=True, text=True, env=env, check=False
    )
    assert weak.returncode != 0 and "password must be at least 10 characters" in weak.stderr
    done = subprocess.run(
        command,
        input="a long enough passphrase\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "created admin boss@example.com" in done.stdout
    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM staff_users")).scalar_one()
    engine.dispose()
    assert stored.startswith("scrypt$") and "passphrase" not in stored


def test_members_import_dry_run_then_apply_then_export(workdir: Path) -> None:
    source = workdir / "base.csv"
    source.write_text("phone,name,balance\n+79008887766,Vera,250\n", encoding="utf-8")
    dry = walletpass(workdir, "members", "import", "--program", "demo", str(source))
    assert dry.returncode == 0 and "dry run: nothing created" in dry.stdout
    done = walletpass(workdir, "members", "import", "--program", "demo", "--apply", str(source))
    assert done.returncode == 0 and "created 1 members, carried over 250 points" in done.stdout
    again = walletpass(workdir, "members", "import", "--program", "demo", str(source))
    assert again.returncode == 1 and "line 2: phone already has a card" in again.stderr
    out = workdir / "export.csv"
    exported = walletpass(workdir, "members", "export", "--program", "demo", "-o", str(out))
    assert exported.returncode == 0
    assert "+79008887766,Vera" in out.read_text(encoding="utf-8")


def test_passes_logs_prints_no_control_characters(workdir: Path) -> None:
    """Rows written before the endpoint stripped them must not reach the terminal raw."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO apple_device_logs (received_at, reason, serial_number, message) "
                "VALUES ('2026-03-14 11:00:00', 'other', NULL, :message)"
            ),
            {"message": "evil\x1b[2J\x1b]0;title\x07 line\rforged"},
        )
    engine.dispose()
    result = walletpass(workdir, "passes", "logs")
    assert result.returncode == 0, result.stderr
    assert "evil" in result.stdout and "forged" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\r" not in result.stdout
