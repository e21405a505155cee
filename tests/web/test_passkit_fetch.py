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
from app.services import card_care, cards, enrollment
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


def test_a_changed_pass_is_read_in_three_statements_and_shows_the_same_pass(
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
    # Authentication, the look for a pass signed ahead (none: nothing was pushed), then
    # card + pass + member + tier + program in one statement.
    assert len(seen) <= 3, seen
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


def test_the_fetch_renders_every_kind_of_card_as_the_object_path_does(
    services: Services, session: Session, demo: Program
) -> None:
    """The fetch reads plain columns, not ORM objects: its pass equals, file for file,
    the rendering from the loaded card (own and program offers, another locale and tier,
    a blocked card, a replaced card's voided old pass)."""
    clock, templates, builder = services.clock, services.templates, services.pkpass
    demo.offer_ru = "Скидка программы"
    made = []
    for i, locale in enumerate(("ru", "en", "ru", "en")):
        form = enrollment.EnrollmentForm(
            name=f"Гость {i}", phone=f"+7921000020{i}", locale=locale, consent=True
        )
        made.append(
            enrollment.enroll(
                session, clock, demo, enrollment.validate(form, demo, clock.now().date())
            )
        )
    own_offer, other_tier, blocked, replaced = made
    own_offer.offer_en = "Your own offer"
    card_care.set_tier(session, clock, other_tier, "large_family", "document seen", "cli")
    card_care.set_blocked(session, clock, blocked, True, "lost", "cli")
    old_pass = cards.wallet_pass_of(session, replaced)
    card_care.replace_card(session, clock, replaced, "lost", "cli")
    session.commit()

    def same(fetched: bytes, expected: bytes) -> None:
        got, want = Pkpass.read(fetched), Pkpass.read(expected)
        assert set(got.files) == set(want.files)
        for name in want.files:
            if name != "signature":
                assert got.files[name] == want.files[name], name

    for card in made:
        live = cards.wallet_pass_of(session, card)
        expected = cards.apple_pass(session, card, builder, templates)
        same(cards.apple_pass_by_id(session, live.id, builder, templates), expected)
        same(cards.apple_pass_of_card(session, card.id, builder, templates), expected)
    voided = builder.build(
        cards.content_of(session, replaced, templates, old_pass),
        cards.template_of(demo, templates),
    )
    fetched = cards.apple_pass_by_id(session, old_pass.id, builder, templates)
    same(fetched, voided)
    shown = Pkpass.read(fetched).pass_json
    assert shown["voided"] is True and Pkpass.read(voided).pass_json == shown
