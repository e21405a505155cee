"""`walletpass analytics rebuild`, run as a script would: after a bulk history the
rollups the dashboard reads are back, row for row, once the operator rebuilds them."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_programs_commands import rows
from tests.cli.test_users_commands import run

READS = {
    "days": "SELECT * FROM kpi_days",
    "visits": "SELECT * FROM kpi_visits",
    "cards": "SELECT * FROM kpi_cards",
    "stages": "SELECT * FROM kpi_stage_days",
    "wallet passes": "SELECT * FROM wallet_pass_apps",
    "wallet members": "SELECT * FROM wallet_members",
    "wallet counts": "SELECT * FROM wallet_counts",
    "wallet event days": "SELECT * FROM wallet_event_days",
}


def snapshot(tmp: Path) -> dict[str, list[tuple[object, ...]]]:
    return {name: sorted(rows(tmp, query), key=repr) for name, query in READS.items()}


def test_rebuild_writes_the_rollups_again(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    made = run(
        tmp_path,
        *("simulate", "--bulk", "--members", "150", "--receipts", "1500"),
        *("--stores", "3", "--days", "60", "--campaigns", "0"),
    )
    assert made.returncode == 0, made.stderr
    built = snapshot(tmp_path)
    assert all(built.values()), {t: len(r) for t, r in built.items()}
    assert rows(tmp_path, "SELECT count(*) FROM kpi_rollup_state") == [(1,)]
    done = run(tmp_path, "analytics", "rebuild", "--program", "demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("demo: ") and "visit rows" in done.stdout
    assert "members in a wallet" in done.stdout
    assert snapshot(tmp_path) == built
    unknown = run(tmp_path, "analytics", "rebuild", "--program", "nope")
    assert unknown.returncode != 0
