"""The wallet counts the dashboard reads are what the registrations, Google objects and
events say, after every way a card arrives in or leaves a wallet app, on SQLite and
PostgreSQL; and a rebuild writes them back the same."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.analytics.models import WalletCount, WalletEventDay, WalletMember, WalletPassApp
from app.analytics.rollups import day_of, midnight
from app.bootstrap import Services
from app.loyalty.models import Card, Program
from app.passes.google.callbacks import CallbackMessage
from app.passes.models import AppleRegistration, WalletPass
from app.services import erasure, google_wallet, passkit, wallet_counts, wallet_stats
from app.services.programs import seed_demo
from app.worker import handlers
from tests.helpers import fixed_clock
from tests.integration import test_push_pipeline as pipeline
from tests.integration.test_push_pipeline import registered_pass, sender_for

fake_apns, server_cert = pipeline.fake_apns, pipeline.server_cert

# 20:30 UTC is 23:30 in Moscow: the events of the next hours fall on the next local day.
EVENING = datetime(2026, 3, 14, 20, 30, tzinfo=UTC)


def ref(session: Session, pass_id: int) -> passkit.PassRef:
    p = session.get(WalletPass, pass_id)
    assert p is not None
    return passkit.PassRef(p.id, p.card_id, p.serial_number, p.last_modified)


def windows(program: Program, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """Every local day from first to last, and all of them as one window."""
    days = range(day_of(program, first), day_of(program, last) + 1)
    each = [(midnight(program, d), midnight(program, d + 1)) for d in days]
    return [*each, (each[0][0], each[-1][1])]


def figures(session: Session, program: Program, spans: list[Any]) -> dict[str, Any]:
    """What the dashboard shows, from the kept counts."""
    return {
        "active": wallet_stats.active_cards(session, program.id),
        "installed": wallet_stats.adoption(session, program.id).installed,
        "events": wallet_stats.event_counts(session, program.id, spans),
    }


def scanned(session: Session, program: Program, spans: list[Any]) -> dict[str, Any]:
    """The same, from the registrations, Google objects and events themselves."""
    return {
        "active": wallet_stats.scan_active(session, program.id),
        "installed": wallet_stats.scan_installed(session, program.id),
        "events": wallet_stats.scan_event_counts(session, program.id, spans),
    }


def kept_rows(session: Session) -> dict[str, Any]:
    """The kept tables, with the split counters summed per key (their slots may hold
    zeros left by removals, which a rebuild does not write)."""
    counts = select(WalletCount.program_id, WalletCount.wallet_app, func.sum(WalletCount.cards))
    days = select(
        WalletEventDay.program_id,
        WalletEventDay.day,
        WalletEventDay.wallet_app,
        WalletEventDay.kind,
        func.sum(WalletEventDay.events),
    )
    return {
        "passes": sorted(
            session.execute(
                select(WalletPassApp.pass_id, WalletPassApp.wallet_app, WalletPassApp.places)
            ).all()
        ),
        "members": sorted(
            session.execute(
                select(WalletMember.member_id, WalletMember.program_id, WalletMember.places)
            ).all()
        ),
        "counts": sorted(
            (p, a, int(n))
            for p, a, n in session.execute(counts.group_by(*counts.selected_columns[:2]))
            if n
        ),
        "days": sorted(
            (p, d, a, k, int(n))
            for p, d, a, k, n in session.execute(days.group_by(*days.selected_columns[:4]))
            if n
        ),
    }


def history(services: Services) -> tuple[int, list[int]]:
    """Three cards through every writer, committed step by step; returns the program id
    and the pass ids. Asserts the kept figures against the tables after each step."""
    clock = fixed_clock(services)
    clock.set(EVENING)
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        a, b, c = (
            registered_pass(session, services, program, f"+7900777000{i}", []) for i in range(3)
        )
    spans = windows(program, EVENING, EVENING + timedelta(days=40))

    def step(change: Any) -> dict[str, Any]:
        with services.transaction() as session:
            change(session)
        clock.advance(hours=2)
        with services.transaction(write=False) as session:
            program_now = session.get(Program, program.id)
            assert program_now is not None
            found = figures(session, program_now, spans)
            assert found == scanned(session, program_now, spans)
            return found

    iphone1 = passkit.Registrant("iphone-1", "a1" * 32)
    iphone2 = passkit.Registrant("iphone-2", "a2" * 32)
    union = passkit.Registrant("union-1", "u1", wallet_app="walletunion")
    android = passkit.Registrant("android-1", "w1", wallet_app="walletpasses")

    def register(pass_id: int, who: passkit.Registrant) -> Any:
        return lambda s: passkit.register(s, services.clock, ref(s, pass_id), who)

    def unregister(pass_id: int, library_id: str) -> Any:
        return lambda s: passkit.unregister(s, services.clock, ref(s, pass_id), library_id)

    def google(kind: str, object_id: str, nonce: str) -> Any:
        message = CallbackMessage("issuer.class", object_id, kind, 0, 1, nonce)
        return lambda s: google_wallet.handle_callback(s, services.clock, message)

    # A on two iPhones (one card in Apple Wallet) and in WalletUnion: two apps.
    assert step(register(a, iphone1))["active"] == {"apple_wallet": 1, "google_wallet": 0}
    step(register(a, iphone2))
    found = step(register(a, union))
    assert found["active"] == {"apple_wallet": 1, "walletunion": 1, "google_wallet": 0}
    assert found["installed"] == 1
    # B in Wallet Passes; then that phone's app calls itself Pass2U while adding C.
    step(register(b, android))
    found = step(register(c, passkit.Registrant("android-1", "w1", wallet_app="pass2u")))
    assert found["active"] == {
        "apple_wallet": 1,
        "walletunion": 1,
        "pass2u": 2,
        "google_wallet": 0,
    }
    # Google: C saved then removed, B saved (B in two apps, counted once as a member).
    for pass_id, object_id in ((b, "obj-b"), (c, "obj-c")):
        step(lambda s, p=pass_id, o=object_id: google_wallet.record_object(s, clock, p, o, 1))
    step(google("save", "obj-c", "n1"))
    step(google("del", "obj-c", "n2"))
    found = step(google("save", "obj-b", "n3"))
    assert found["active"]["google_wallet"] == 1 and found["installed"] == 3
    # A leaves one iPhone (still in Apple Wallet), then the other.
    assert step(unregister(a, "iphone-1"))["active"]["apple_wallet"] == 1
    assert "apple_wallet" not in step(unregister(a, "iphone-2"))["active"]
    # B's member erased: once the grace is over, the devices of B's pass are released.
    with services.transaction() as session:
        card = session.scalars(
            select(Card).join(WalletPass, WalletPass.card_id == Card.id).where(WalletPass.id == b)
        ).one()
        erasure.erase(session, services.clock, card, "test")
    clock.advance(days=31)
    found = step(lambda s: erasure.release_erased_devices(s, services.clock.now()))
    assert found["active"] == {"walletunion": 1, "pass2u": 1, "google_wallet": 1}
    assert found["installed"] == 3  # A (WalletUnion), B (Google Wallet), C (Pass2U)
    found = step(unregister(c, "android-1"))
    assert found["installed"] == 2
    installs = found["events"][("pass2u", "install")]
    assert installs[-1] == 1  # the move to Pass2U was no install: B's was in Wallet Passes
    assert sum(installs[:-1]) == installs[-1]
    assert found["events"][("apple_wallet", "install")][:2] == [1, 1]  # 23:30, 01:30 local
    return program.id, [a, b, c]


def test_kept_wallet_counts_equal_the_tables_after_every_writer(real_services: Services) -> None:
    services = real_services
    program_id, _ = history(services)
    with services.transaction() as session:
        before = kept_rows(session)
        assert before["members"] and before["days"]
        program = session.get(Program, program_id)
        assert program is not None
        wallet_counts.rebuild(session, program)
    with services.transaction(write=False) as session:
        assert kept_rows(session) == before


def test_rebuild_restores_counts_of_rows_written_around_the_services(
    real_services: Services,
) -> None:
    """An import that writes registrations directly: the counts lag until a rebuild."""
    services = real_services
    program_id, _ = history(services)
    with services.transaction() as session:
        session.execute(delete(WalletCount))
        assert wallet_stats.active_cards(session, program_id) == {"google_wallet": 0}
        program = session.get(Program, program_id)
        assert program is not None
        wallet_counts.rebuild(session, program)
    with services.transaction(write=False) as session:
        assert wallet_stats.active_cards(session, program_id) == wallet_stats.scan_active(
            session, program_id
        )
        assert wallet_stats.adoption(session, program_id).installed == 2


def test_apns_prunes_leave_the_counts(
    session: Session,
    services: Services,
    demo: Program,
    fake_apns: dict[str, Any],
    server_cert: Any,
) -> None:
    dead, bad, alive = "dd" * 32, "ee" * 32, "aa" * 32
    fake = fake_apns["start"](dead_tokens={dead}, bad_tokens={bad})
    pass_id = registered_pass(session, services, demo, "+79007770101", [dead, bad, alive])
    gone = registered_pass(session, services, demo, "+79007770102", [dead])
    assert wallet_stats.active_cards(session, demo.id)["apple_wallet"] == 2
    with sender_for(services, fake, server_cert) as sender:
        assert handlers.deliver(services, sender, [pass_id, gone]).pruned >= 2
    with services.transaction(write=False) as s:
        assert wallet_stats.active_cards(s, demo.id)["apple_wallet"] == 1
        assert wallet_stats.active_cards(s, demo.id) == wallet_stats.scan_active(s, demo.id)
        assert wallet_stats.adoption(s, demo.id).installed == wallet_stats.scan_installed(
            s, demo.id
        )


def test_phones_leaving_and_joining_at_once_keep_the_counts_exact(
    real_services: Services,
) -> None:
    """One card pruned from six phones (as a push channel prunes: counts, then the
    DELETE) and six cards joining, all at the same moment, each on its own thread and
    connection: no deadlock, and the counts end where the tables do."""
    services = real_services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        leaving = registered_pass(session, services, program, "+79007770200", [])
        joining = [
            registered_pass(session, services, program, f"+7900777021{i}", []) for i in range(6)
        ]
        for i in range(6):
            who = passkit.Registrant(f"old-{i}", f"{i:02d}" * 32)
            passkit.register(session, services.clock, ref(session, leaving), who)
        old = session.scalars(
            select(AppleRegistration.id).where(AppleRegistration.pass_id == leaving)
        ).all()
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def run(change: Any) -> None:
        start.wait()
        try:
            with services.transaction() as session:
                change(session)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def prune(registration_id: int) -> Any:
        def change(s: Session) -> None:
            wallet_counts.unregistered(s, [registration_id])
            s.execute(delete(AppleRegistration).where(AppleRegistration.id == registration_id))

        return change

    def join(i: int) -> Any:
        who = passkit.Registrant(f"new-{i}", "w1", wallet_app="walletpasses")
        return lambda s: passkit.register(s, services.clock, ref(s, joining[i]), who)

    threads = [threading.Thread(target=run, args=(prune(r),)) for r in old]
    threads += [threading.Thread(target=run, args=(join(i),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with services.transaction(write=False) as session:
        assert wallet_stats.active_cards(session, program.id) == {
            "walletpasses": 6,
            "google_wallet": 0,
        }
        assert wallet_stats.active_cards(session, program.id) == wallet_stats.scan_active(
            session, program.id
        )
        assert wallet_stats.adoption(session, program.id).installed == 6
