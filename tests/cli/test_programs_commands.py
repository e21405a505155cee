"""`walletpass programs create|list` (issue 18, item 1), run as a script would."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.test_commands import walletpass
from tests.cli.test_users_commands import run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("programs")
    assert walletpass(tmp, "db", "upgrade").returncode == 0
    assert walletpass(tmp, "demo", "seed").returncode == 0
    return tmp


def rows(tmp: Path, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{tmp / 'instance' / 'walletpass.db'}")
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(query))]
    engine.dispose()
    return found


def test_create_makes_a_program_with_its_tiers_and_list_shows_it_next_to_the_demo(
    workdir: Path,
) -> None:
    made = run(
        workdir,
        "programs",
        "create",
        "--slug",
        "kids-club",
        "--name",
        "Клуб «Кроха»",
        "--brand",
        "Кроха",
        "--earn-rate",
        "3,5",
        "--point-value",
        "0,50",
        "--expiry-days",
        "180",
        "--tier",
        "base:Друг:7",
        "--tier",
        "large_family:Многодетная семья:15:staff",
        "--tier",
        "gold:Золото:10:spend=50000",
    )
    assert made.returncode == 0, made.stderr
    assert "https://shop.example.test/join/kids-club" in made.stdout
    tiers = rows(
        workdir,
        "SELECT t.code, t.discount_bp, t.is_default, t.staff_assigned, t.spend_threshold "
        "FROM tiers t JOIN programs p ON p.id = t.program_id WHERE p.slug = 'kids-club' "
        "ORDER BY t.discount_bp",
    )
    assert tiers == [
        ("base", 700, 1, 0, None),
        ("gold", 1000, 0, 0, 5_000_000),
        ("large_family", 1500, 0, 1, None),
    ]
    program = rows(
        workdir,
        "SELECT earn_rate_bp, point_value_minor, points_validity_days FROM programs "
        "WHERE slug = 'kids-club'",
    )
    assert program == [(350, 50, 180)]
    audit = rows(workdir, "SELECT actor, target FROM audit_log WHERE action = 'program.created'")
    assert audit == [("cli", "kids-club")]
    listed = run(workdir, "programs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["demo", "kids-club"]
    assert "base 7%, gold 10%, large_family 15%" in lines[1] and "\tactive\t" in lines[1]


def test_bad_input_is_refused_field_by_field_and_nothing_is_created(workdir: Path) -> None:
    bad = run(
        workdir,
        "programs",
        "create",
        "--slug",
        "demo",
        "--name",
        "X",
        "--brand",
        "X",
        "--timezone",
        "Mars/Olympus",
        "--earn-rate",
        "150",
        "--tier",
        "base:Друг:7",
        "--tier",
        "other:Другой:5",
    )
    assert bad.returncode != 0
    for message in (
        "slug is already used by another program",
        "timezone must be a time zone",
        "earn_rate must be a percentage from 0 to 100",
        "exactly one tier",
    ):
        assert message in bad.stderr
    odd = run(
        workdir,
        "programs",
        "create",
        "--slug",
        "x1",
        "--name",
        "X",
        "--brand",
        "X",
        "--tier",
        "base:Друг",
    )
    assert odd.returncode != 0 and "CODE:NAME:DISCOUNT" in odd.stderr
    assert rows(workdir, "SELECT count(*) FROM programs WHERE slug = 'x1'") == [(0,)]
