"""The changed-pass fetch (200 path) every phone makes after a push: same pass, few statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services.stores import add_store
from tests.helpers import Pkpass
from tests.web.test_passkit_device import ORIGIN, WalletDevice, enroll


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """SQL statements sent to the database (savepoint bookkeeping of the test
    harness left out)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_changed_pass_is_read_in_two_statements_and_shows_the_same_pass(
    client: FlaskClient, services: Services, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce00000000000000000000000101")
    links = enroll(client, "+7 921 000-01-01")
    downloaded = Pkpass.read(client.get(links["apple_pass"].removeprefix(ORIGIN)).data)
    serial = str(downloaded.pass_json["serialNumber"])
    phone.passes[serial] = downloaded.pass_json
    phone.fetch(serial)  # the program's shared parts are read once per process
    with statements(services.engine) as seen:
        status, _, body = phone.fetch(serial)
    assert status == 200
    assert len(seen) <= 2, seen  # authentication, then card + pass + member + tier + program
    fetched = Pkpass.read(body)
    assert fetched.pass_json == downloaded.pass_json
    assert set(fetched.files) == set(downloaded.files)
    for name, data in downloaded.files.items():
        if name not in ("signature", "manifest.json"):
            assert fetched.files[name] == data, name


def test_a_new_store_reaches_the_fetched_pass_at_once(
    client: FlaskClient, services: Services, session: Session, demo: Program
) -> None:
    phone = WalletDevice(client, "d3v1ce00000000000000000000000102")
    serial = str(phone.add_pass(enroll(client, "+7 921 000-01-02")["apple_pass"])["serialNumber"])
    before = Pkpass.read(phone.fetch(serial)[2]).pass_json.get("locations", [])
    program = session.get(Program, demo.id)
    assert program is not None
    values = {"code": "north-9", "name": "Север 9", "latitude": "1.5", "longitude": "2.5"}
    add_store(session, services.clock, program, values, "cli")
    session.commit()
    after = Pkpass.read(phone.fetch(serial)[2]).pass_json["locations"]
    if len(before) < 10:
        assert {"latitude": 1.5, "longitude": 2.5, "relevantText": "Север 9"} in after
    assert len(after) == min(len(before) + 1, 10)
