"""`walletpass push stats` ends with the cards per wallet app, as an operator reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.cli.test_commands import walletpass


def test_push_stats_shows_active_cards_and_todays_installs_per_wallet_app(
    tmp_path: Path,
) -> None:
    assert walletpass(tmp_path, "db", "upgrade").returncode == 0
    assert walletpass(tmp_path, "demo", "seed").returncode == 0
    source = tmp_path / "base.csv"
    source.write_text("phone,name\n+79008887711,A\n+79008887712,B\n+79008887713,C\n")
    imported = walletpass(
        tmp_path, "members", "import", "--program", "demo", "--apply", str(source)
    )
    assert imported.returncode == 0, imported.stderr
    empty = walletpass(tmp_path, "push", "stats")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.splitlines()[-1] == "cards by wallet app: none"

    now = datetime.now(UTC).replace(tzinfo=None)
    stamp, old = str(now), str(now - timedelta(days=3))
    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'walletpass.db'}")
    with engine.begin() as conn:
        a, b, c = conn.execute(text("SELECT id FROM wallet_passes ORDER BY id")).scalars().all()
        for i, (app, pass_id) in enumerate(
            [("apple_wallet", a), ("apple_wallet", b), ("walletunion", c)]
        ):
            conn.execute(
                text(
                    "INSERT INTO apple_devices (library_id, push_token, wallet_app, created_at, "
                    "updated_at) VALUES (:lib, :tok, :app, :at, :at)"
                ),
                {"lib": f"lib{i}", "tok": f"tok{i}", "app": app, "at": old},
            )
            device = conn.execute(text("SELECT max(id) FROM apple_devices")).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO apple_registrations (device_id, pass_id, created_at) "
                    "VALUES (:d, :p, :at)"
                ),
                {"d": device, "p": pass_id, "at": old},
            )
        events = [
            (old, "apple_wallet", "install", "registered"),
            (old, "apple_wallet", "install", "registered"),
            (stamp, "walletunion", "install", "registered"),
            (stamp, "walletpasses", "removal", "relay_expired"),
        ]
        for at, app, kind, reason in events:
            conn.execute(
                text(
                    "INSERT INTO wallet_app_events (at, wallet_app, kind, reason, pass_id) "
                    "VALUES (:at, :app, :kind, :reason, :p)"
                ),
                {"at": at, "app": app, "kind": kind, "reason": reason, "p": a},
            )
    engine.dispose()
    stats = walletpass(tmp_path, "push", "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.splitlines()[-1] == (
        "cards by wallet app: apple_wallet 2 active (+0 / -0 today), "
        "walletpasses 0 active (+0 / -1 today), walletunion 1 active (+1 / -0 today)"
    )
