"""Writing a simulated chain's history straight into the database, fast.

PostgreSQL gets ``COPY … FROM STDIN``; SQLite batched ``executemany``. Ids are given
explicitly (the next free ones), so members, cards, passes and receipts link up without
reading anything back; PostgreSQL's sequences are moved past them at the end. Receipts
carry no points (the ledger stays empty and every balance 0): the history is about
visits and spend. Runs in the caller's transaction (the entry point commits).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.analytics.rebuild import rebuild
from app.campaigns.models import Campaign, SimulatedEffect
from app.clock import Clock
from app.loyalty.models import Member, Program, Store
from app.services import terminals, wallet_counts
from app.services.campaigns import in_holdout
from app.simulate import deferred_keys, model
from app.till.models import Terminal

SQLITE_BATCH = 5_000
# The tables written with COPY (or executemany).
TABLES = (
    "members", "cards", "wallet_passes", "apple_devices", "apple_registrations",
    "google_objects", "wallet_app_events", "receipts", "campaign_targets",
)  # fmt: skip
# What the rebuild at the end of the load writes.
ROLLUP_TABLES = (
    "kpi_rollup_state", "kpi_days", "kpi_visits", "kpi_buyer_gaps", "kpi_stage_gaps",
    "kpi_cards", "kpi_cohort_days", "kpi_stage_days", "kpi_loyal_days", "kpi_loyal_paid",
    "wallet_pass_apps", "wallet_members", "wallet_counts", "wallet_event_days",
)  # fmt: skip
HOLDOUT_BP = 1_000


@dataclass(frozen=True)
class Result:
    members: int
    receipts: int
    campaigns: int
    seconds: float

    @property
    def members_per_s(self) -> float:
        return self.members / self.seconds if self.seconds else 0.0

    @property
    def receipts_per_s(self) -> float:
        return self.receipts / self.seconds if self.seconds else 0.0


class _Writer:
    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.session = session
        self.postgres = conn.dialect.name == "postgresql"
        self.raw: Any = conn.connection.dbapi_connection

    def next_id(self, table: str) -> int:
        return int(self.session.scalar(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")))  # noqa: S608 - our table names

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
        names = ", ".join(columns)
        n = 0
        if self.postgres:
            with (
                self.raw.cursor() as cur,
                cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        cur = self.raw.cursor()
        batch: list[tuple[object, ...]] = []
        for row in rows:
            batch.append(tuple(_sqlite(v) for v in row))
            if len(batch) >= SQLITE_BATCH:
                cur.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
        return n

    def done(self, tables: Iterable[str]) -> None:
        if self.postgres:
            for table in tables:
                last = f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"  # noqa: S608 - ours
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                self.session.execute(text(f"SELECT setval({sequence}, {last}, false)"))
        self.session.expire_all()


def _sqlite(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _token(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def simulate(
    session: Session, clock: Clock, program: Program, spec: model.Spec, *, defer_keys: bool = True
) -> Result:
    """Write the chain ``spec`` draws into ``program``: stores (one till each), members
    with cards and passes, wallet installs, the receipts, and the campaigns with their
    true effects (``SimulatedEffect``). Into empty tables on PostgreSQL their indexes
    and foreign keys are built after the load (app.simulate.deferred_keys)."""
    started = time.perf_counter()
    w = _Writer(session)
    store_ids, terminal_ids = _stores(session, clock, program, spec)
    with deferred_keys.deferred(session, TABLES) if defer_keys else nullcontext():
        people = model.shoppers(spec)
        card_base = _members(w, program, spec, people)
        plans = model.campaigns(spec, people)
        extra = _campaigns(session, w, program, spec, plans, card_base, people)
        n = 0
        rid = w.next_id("receipts")
        for chunk in [*model.receipts(spec, people), extra]:
            n += w.write(
                "receipts",
                RECEIPT_COLUMNS,
                (
                    _receipt(rid + i, program.id, r, card_base, store_ids, terminal_ids)
                    for i, r in enumerate(chunk)
                ),
            )
            rid += len(chunk)
    w.done(TABLES)
    # Into empty rollups the rebuild's INSERT … SELECTs skip the per-row foreign-key
    # checks and index entries too (13 s of the 200 000-member rebuild's visit rows).
    with deferred_keys.deferred(session, ROLLUP_TABLES) if defer_keys else nullcontext():
        rebuild(session, program, clock.now())  # the dashboard's daily sums
        wallet_counts.rebuild(session, program)  # and its wallet figures
    return Result(spec.members, n, len(plans), time.perf_counter() - started)


RECEIPT_COLUMNS = (
    "id", "program_id", "terminal_id", "store_id", "receipt_id", "card_id", "amount",
    "discount_bp", "discount_amount", "points_redeemed", "point_value_minor",
    "points_earned", "amount_due", "request_hash", "created_at",
)  # fmt: skip


def _receipt(
    rid: int,
    program_id: int,
    r: model.Receipt,
    card_base: int,
    store_ids: list[int],
    terminal_ids: list[int],
) -> tuple[object, ...]:
    card = None if r.shopper is None else card_base + r.shopper
    return (
        rid, program_id, terminal_ids[r.store], store_ids[r.store], f"sim-{rid}", card,
        r.amount, 0, 0, 0, 100, 0, r.amount, "simulated", r.at,
    )  # fmt: skip


def _stores(
    session: Session, clock: Clock, program: Program, spec: model.Spec
) -> tuple[list[int], list[int]]:
    """The chain's stores (existing codes are reused) and one till in each."""
    store_ids, terminal_ids = [], []
    for s in model.stores(spec):
        store = session.scalar(
            select(Store).where(Store.program_id == program.id, Store.code == s.code)
        )
        if store is None:
            store = Store(
                program_id=program.id,
                code=s.code,
                name=s.name,
                latitude=s.latitude,
                longitude=s.longitude,
            )
            session.add(store)
            session.flush()
        till = session.scalar(select(Terminal).where(Terminal.store_id == store.id).limit(1))
        if till is None:
            till = terminals.add_terminal(session, clock, program, f"{s.name} till", s.code)[0]
        store_ids.append(store.id)
        terminal_ids.append(till.id)
    return store_ids, terminal_ids


def _members(w: _Writer, program: Program, spec: model.Spec, people: list[model.Shopper]) -> int:
    """Members, cards, passes and wallet installs; returns the first card id (card of
    shopper i = that + i)."""
    member_base, card_base = w.next_id("members"), w.next_id("cards")
    pass_base, device_base = w.next_id("wallet_passes"), w.next_id("apple_devices")
    phone_base = w.session.scalar(select(func.count()).select_from(Member)) or 0
    tier = program.default_tier.id
    w.write(
        "members",
        ("id", "program_id", "phone", "name", "name_folded", "birthday", "locale",
         "marketing_consent", "consent_at", "created_at", "stage", "stage_since"),
        (
            (member_base + p.index, program.id, f"+79{phone_base + p.index:09d}",
             f"Shopper {p.index + 1}", f"shopper {p.index + 1}", p.birthday, p.locale, p.consent,
             p.enrolled_at if p.consent else None, p.enrolled_at, p.stage, p.stage_since)
            for p in people
        ),
    )  # fmt: skip
    w.write(
        "cards",
        ("id", "public_id", "program_id", "member_id", "number", "barcode_secret", "tier_id",
         "balance", "status", "apple_installed_at", "google_installed_at", "created_at"),
        (
            (card_base + p.index, _token("c", spec.seed, card_base + p.index)[:22], program.id,
             member_base + p.index, f"8{card_base + p.index:012d}",
             _token("b", spec.seed, p.index)[:10].upper(), tier, 0, "active",
             p.enrolled_at if p.wallet_app not in (None, "google") else None,
             p.enrolled_at if p.wallet_app == "google" else None, p.enrolled_at)
            for p in people
        ),
    )  # fmt: skip
    w.write(
        "wallet_passes",
        ("id", "card_id", "serial_number", "auth_token", "version", "updated_at",
         "last_modified", "apns_delivered_version", "google_delivered_version", "created_at"),
        (
            (pass_base + p.index, card_base + p.index, _token("s", spec.seed, card_base + p.index),
             _token("t", spec.seed, p.index), 1, p.enrolled_at, int(p.enrolled_at.timestamp()),
             1, 1, p.enrolled_at)
            for p in people
        ),
    )  # fmt: skip
    pkpass = [p for p in people if p.wallet_app not in (None, "google")]
    w.write(
        "apple_devices",
        ("id", "library_id", "push_token", "wallet_app", "created_at", "updated_at"),
        (
            (device_base + i, _token("d", spec.seed, card_base + p.index),
             _token("p", spec.seed, p.index) * 2, p.wallet_app, p.enrolled_at, p.enrolled_at)
            for i, p in enumerate(pkpass)
        ),
    )  # fmt: skip
    w.write(
        "apple_registrations",
        ("device_id", "pass_id", "created_at", "delivered_version"),
        ((device_base + i, pass_base + p.index, p.enrolled_at, 1) for i, p in enumerate(pkpass)),
    )
    google = [p for p in people if p.wallet_app == "google"]
    w.write(
        "google_objects",
        ("pass_id", "object_id", "saved_at", "created_at"),
        (
            (pass_base + p.index, f"sim.{_token('g', spec.seed, card_base + p.index)}",
             p.enrolled_at, p.enrolled_at)
            for p in google
        ),
    )  # fmt: skip
    w.write(
        "wallet_app_events",
        ("at", "wallet_app", "kind", "reason", "pass_id"),
        (
            (p.enrolled_at, "google_wallet" if p.wallet_app == "google" else p.wallet_app,
             "install", "google_save" if p.wallet_app == "google" else "registered",
             pass_base + p.index)
            for p in people
            if p.wallet_app is not None
        ),
    )  # fmt: skip
    return card_base


def _campaigns(
    session: Session,
    w: _Writer,
    program: Program,
    spec: model.Spec,
    plans: list[model.CampaignPlan],
    card_base: int,
    people: list[model.Shopper],
) -> list[model.Receipt]:
    """The campaigns as sent, their targets, and the purchases they caused."""
    extra: list[model.Receipt] = []
    for plan in plans:
        campaign = Campaign(
            program_id=program.id,
            name=f"Simulated offer {plan.index + 1} (seed {spec.seed})",
            offer_en="−10 % on the next visit",
            offer_ru="−10 % на следующую покупку",
            segment={"stages": ["active", "at_risk"]},
            holdout_bp=HOLDOUT_BP,
            status="sent",
            send_at=plan.started_at,
            started_at=plan.started_at,
            finished_at=plan.started_at,
            created_by="simulator",
            created_at=plan.started_at,
        )
        session.add(campaign)
        session.flush()
        session.add(
            SimulatedEffect(
                campaign_id=campaign.id,
                uplift_per_card=plan.true_uplift_per_card,
                response_rate=plan.response_rate,
                seed=spec.seed,
            )
        )
        cid = campaign.id

        def holdout(who: int, cid: int = cid) -> bool:
            return in_holdout(cid, card_base + who, HOLDOUT_BP)

        w.write(
            "campaign_targets",
            ("campaign_id", "card_id", "holdout", "targeted_at", "occurrence", "applied_at",
             "pushes_accepted", "pushes_failed", "pushes_pruned"),
            (
                (cid, card_base + who, holdout(who), plan.started_at, 0,
                 None if holdout(who) else plan.started_at, 0, 0, 0)
                for who in plan.targets
            ),
        )  # fmt: skip
        extra.extend(model.responses(spec, plan, holdout))
    session.flush()
    del people
    return extra
