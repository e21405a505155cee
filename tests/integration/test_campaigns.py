"""Campaigns end to end below the console: segment, holdout, offer on cards, pushes, report."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget
from app.fakes.apns import running_fake_apns
from app.fakes.tls import make_server_cert
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.passes.apple.certs import DevChain
from app.push.apns.client import ApnsConfig, ApnsSender
from app.services import campaigns
from app.worker import handlers
from app.worker.runtime import client_pem_files
from tests.helpers import PASS_TYPE_ID, fixed_clock, population, sale


def draft(**overrides: Any) -> campaigns.Draft:
    values: dict[str, Any] = {
        "name": "Win back",
        "offer_en": "-20 % on everything this week",
        "offer_ru": "-20 % на всё на этой неделе",
        "segment": {"stages": ["at_risk"]},
        "holdout_percent": 25.0,
    }
    values.update(overrides)
    return campaigns.Draft(**values)


def test_segments_filter_and_count(session: Session, services: Services, demo: Program) -> None:
    population(session, services, demo, 40)
    now = services.clock.now()
    assert campaigns.segment_size(session, demo, {}, now) == 40
    assert campaigns.segment_size(session, demo, {"stages": ["at_risk"]}, now) == 10
    # Where the card is now: every card of the population is registered on an iPhone.
    assert campaigns.segment_size(session, demo, {"wallet": "apple"}, now) == 40
    assert (
        campaigns.segment_size(session, demo, {"stages": ["at_risk"], "wallet": "none"}, now) == 0
    )
    assert campaigns.segment_size(session, demo, {"birthday_month": 3}, now) == 4
    assert campaigns.segment_size(session, demo, {"tiers": ["large_family"]}, now) == 0
    assert campaigns.segment_size(session, demo, {"min_spend": 1}, now) == 0
    with pytest.raises(ValidationError) as error:
        campaigns.segment_size(session, demo, {"stages": ["vip"], "colour": "red"}, now)
    assert set(error.value.fields) == {"segment.stages", "segment.colour"}


def test_offers_are_not_sent_at_night(demo: Program) -> None:
    # 23:30 in Moscow (20:30 UTC) waits until 09:00 Moscow (06:00 UTC) the next morning.
    late = datetime(2026, 3, 14, 20, 30, tzinfo=UTC)
    assert campaigns.outside_quiet_hours(demo, late) == datetime(2026, 3, 15, 6, 0, tzinfo=UTC)
    early = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)  # 06:00 Moscow
    assert campaigns.outside_quiet_hours(demo, early) == datetime(2026, 3, 15, 6, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    assert campaigns.outside_quiet_hours(demo, noon) == noon


@pytest.fixture
def fake_sender(
    tmp_path_factory: pytest.TempPathFactory, dev_chain: DevChain, services: Services
) -> Iterator[tuple[Any, ApnsSender]]:
    server = make_server_cert(tmp_path_factory.mktemp("apns"))
    with running_fake_apns(
        server_cert=server.cert,
        server_key=server.key,
        client_ca=dev_chain.root_cert,
        topic=PASS_TYPE_ID,
    ) as fake:
        cert, key = client_pem_files(services)
        config = ApnsConfig(
            topic=PASS_TYPE_ID,
            base_url=f"https://127.0.0.1:{fake.port}",
            client_cert=cert,
            client_key=key,
            ca_file=server.ca_cert,
        )
        with ApnsSender(config) as sender:
            yield fake, sender


def test_a_campaign_reaches_its_targets_and_never_the_holdout(
    session: Session, services: Services, demo: Program, fake_sender: tuple[Any, ApnsSender]
) -> None:
    fake, sender = fake_sender
    cards = population(session, services, demo, 400)
    campaign = campaigns.create(session, services.clock, demo, draft(), "test")
    session.commit()
    services.queue.huey.flush()
    handlers.run_campaign(services, campaign.id)
    targets = session.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
    ).all()
    assert len(targets) == 100  # the at-risk quarter
    holdout = {t.card_id for t in targets if t.holdout}
    assert 10 <= len(holdout) <= 45  # ~25 % of 100, drawn at random
    for task in list(services.queue.huey.pending()):
        if task.name == "deliver_passes":
            handlers.deliver(services, sender, task.args[0])
    reached = {r.token for r in fake.received if r.status == 200}
    by_card = {c.id: f"{i:064x}" for i, c in enumerate(cards)}
    assert reached == {by_card[t.card_id] for t in targets if not t.holdout}
    assert not reached & {by_card[c] for c in holdout}
    session.expire_all()
    offered = session.scalars(select(Card).where(Card.offer_en.is_not(None))).all()
    assert {c.id for c in offered} == {t.card_id for t in targets if not t.holdout}
    progress = campaigns.progress(session, session.get(Campaign, campaign.id))  # type: ignore[arg-type]
    assert progress.status == "sent" and progress.percent == 100
    assert progress.pushed == progress.applied == 100 - len(holdout)
    assert (progress.accepted, progress.failed, progress.pruned) == (100 - len(holdout), 0, 0)


def test_the_frequency_cap_skips_cards_offered_recently(
    session: Session, services: Services, demo: Program
) -> None:
    population(session, services, demo, 40)
    first = campaigns.create(session, services.clock, demo, draft(holdout_percent=0), "test")
    session.commit()
    handlers.run_campaign(services, first.id)
    fixed_clock(services).advance(days=3)
    second = campaigns.create(
        session, services.clock, demo, draft(segment={}, holdout_percent=0), "test"
    )
    session.commit()
    handlers.run_campaign(services, second.id)
    session.expire_all()
    progress = campaigns.progress(session, session.get(Campaign, second.id))  # type: ignore[arg-type]
    assert (progress.targets, progress.skipped, progress.applied) == (40, 10, 30)
    fixed_clock(services).advance(days=8)
    third = campaigns.create(session, services.clock, demo, draft(holdout_percent=0), "test")
    session.commit()
    handlers.run_campaign(services, third.id)
    session.expire_all()
    assert campaigns.progress(session, session.get(Campaign, third.id)).skipped == 0  # type: ignore[arg-type]
    # The campaign list reads the progress of all three in two queries.
    three = [session.get(Campaign, c.id) for c in (first, second, third)]
    statements: list[str] = []
    listen = functools.partial(_record, statements)
    event.listen(session.bind, "before_cursor_execute", listen)  # type: ignore[arg-type]
    try:
        together = campaigns.progress_of(session, three)  # type: ignore[arg-type]
    finally:
        event.remove(session.bind, "before_cursor_execute", listen)  # type: ignore[arg-type]
    assert len(statements) == 2
    assert together == {c.id: campaigns.progress(session, c) for c in three}  # type: ignore[union-attr]
    assert [together[c.id].skipped for c in (first, second, third)] == [0, 10, 0]


def _record(statements: list[str], *args: object) -> None:
    statements.append(str(args[2]))


def test_scheduled_campaigns_start_when_due(
    session: Session, services: Services, demo: Program
) -> None:
    population(session, services, demo, 8)
    later = services.clock.now() + timedelta(hours=2)
    campaign = campaigns.create(session, services.clock, demo, draft(send_at=later), "test")
    session.commit()
    services.queue.huey.flush()
    assert handlers.start_due_campaigns(services) == []
    fixed_clock(services).advance(hours=3)
    assert handlers.start_due_campaigns(services) == [campaign.id]
    queued = [t.args for t in services.queue.huey.pending() if t.name == "run_campaign"]
    assert queued == [(campaign.id,)]
    assert handlers.start_due_campaigns(services) == []  # started once


def test_the_report_compares_targets_with_the_holdout(
    session: Session, services: Services, demo: Program
) -> None:
    from app.services import terminals

    cards = population(session, services, demo, 400)
    campaign = campaigns.create(
        session, services.clock, demo, draft(segment={}, holdout_percent=20), "test"
    )
    session.commit()
    handlers.run_campaign(services, campaign.id)
    terminal = terminals.add_terminal(session, services.clock, demo, "T")[0]
    targets = session.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
    ).all()
    start = services.clock.now()
    # Every targeted card buys for 1 000.00, every held-out card for 600.00, within the window;
    # a purchase after the window must not count.
    for i, t in enumerate(targets):
        amount = 60_000 if t.holdout else 100_000
        session.add(sale(terminal, f"x{i}", start + timedelta(days=2), amount, t.card_id))
    session.add(sale(terminal, "late", start + timedelta(days=20), 999_999, cards[0].id))
    session.commit()
    report = campaigns.report(session, session.get(Campaign, campaign.id), days=14)  # type: ignore[arg-type]
    holdout = sum(1 for t in targets if t.holdout)
    assert (report.targets.cards, report.holdout.cards) == (400 - holdout, holdout)
    assert report.targets.revenue == (400 - holdout) * 100_000
    assert report.holdout.revenue == holdout * 60_000
    assert report.uplift_per_card == pytest.approx(40_000)
    low, high = report.ci95
    assert low == pytest.approx(40_000) and high == pytest.approx(40_000)  # no variance at all


def test_triggered_campaigns_welcome_and_win_back(
    session: Session, services: Services, demo: Program
) -> None:
    from app.loyalty.models import Card as CardModel
    from app.loyalty.models import Member
    from app.services import installs
    from app.services.lifecycle import refresh_stages
    from app.worker.handlers import run_daily

    welcome = campaigns.create(
        session,
        services.clock,
        demo,
        draft(
            name="Welcome",
            offer_en="Welcome gift: -10 %",
            offer_ru="Подарок: -10 %",
            segment={},
            holdout_percent=0,
            trigger="welcome",
        ),
        "test",
    )
    win_back = campaigns.create(
        session,
        services.clock,
        demo,
        draft(
            name="Come back",
            offer_en="We miss you: -20 %",
            offer_ru="Скучаем: -20 %",
            segment={},
            holdout_percent=0,
            trigger="win_back",
        ),
        "test",
    )
    session.commit()
    assert welcome.status == "active" and welcome.send_at is None
    cards = population(session, services, demo, 4)
    card = cards[1]
    card.apple_installed_at = None
    session.commit()
    installs.record_install(session, services.clock, card.id, "apple")
    installs.record_install(session, services.clock, card.id, "google")  # not a first install
    session.commit()
    session.expire_all()
    assert session.get(CardModel, card.id).offer_en == "Welcome gift: -10 %"  # type: ignore[union-attr]
    assert (
        len(
            session.scalars(
                select(CampaignTarget).where(CampaignTarget.campaign_id == welcome.id)
            ).all()
        )
        == 1
    )

    # Win-back fires on the move into "at risk", after the frequency cap has passed.
    refresh_stages(session, services.clock, demo)
    session.commit()
    fixed_clock(services).advance(days=120)
    run_daily(services)
    session.expire_all()
    assert [m.stage for m in session.scalars(select(Member).order_by(Member.id))] == ["at_risk"] * 4
    session.expire_all()
    targets = session.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == win_back.id)
    ).all()
    # The first card was at risk already: it did not move, so it gets no win-back.
    assert {t.card_id for t in targets} == {c.id for c in cards[1:]}
    assert all(t.applied_at is not None for t in targets)


def test_the_birthday_campaign_goes_with_the_birthday_bonus_once_a_year(
    session: Session, services: Services, demo: Program
) -> None:
    from app.worker.handlers import run_daily

    gift = campaigns.create(
        session,
        services.clock,
        demo,
        draft(
            name="Birthday",
            offer_en="Happy birthday: -25 %",
            offer_ru="С днём рождения: -25 %",
            segment={},
            holdout_percent=0,
            trigger="birthday",
        ),
        "test",
    )
    session.commit()
    cards = population(session, services, demo, 12)  # birthdays on the 1st of each month
    fixed_clock(services).set(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    run_daily(services)
    run_daily(services)
    fixed_clock(services).set(datetime(2027, 5, 1, 9, 0, tzinfo=UTC))
    run_daily(services)
    session.expire_all()
    targets = session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.campaign_id == gift.id)
        .order_by(CampaignTarget.id)
    ).all()
    # Born in May: one row a year, last year's kept with its moment (its history).
    assert [(t.card_id, t.occurrence) for t in targets] == [
        (cards[4].id, 2026),
        (cards[4].id, 2027),
    ]
    assert [t.targeted_at for t in targets] == [
        datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
        datetime(2027, 5, 1, 9, 0, tzinfo=UTC),
    ]
    assert all(t.applied_at is not None for t in targets)


def test_a_campaign_whose_run_was_lost_is_started_again(
    session: Session, services: Services, demo: Program
) -> None:
    population(session, services, demo, 40)
    campaign = campaigns.create(
        session, services.clock, demo, draft(holdout_percent=0, bonus_points=50), "test"
    )
    campaign.status = "sending"  # launched now, as the console and the CRM API do
    session.commit()
    # The worker chose the targets, then died with the task (SIGKILL, machine lost).
    with services.transaction() as tx:
        assert campaigns.select_targets(tx, services.clock, campaign.id) == 10
    services.queue.huey.flush()
    assert handlers.start_due_campaigns(services) == []  # still running, as far as we know
    fixed_clock(services).advance(minutes=3)
    assert handlers.start_due_campaigns(services) == [campaign.id]
    assert [t.args for t in services.queue.huey.pending()] == [(campaign.id,)]
    assert handlers.run_campaign(services, campaign.id) == 10
    session.expire_all()
    progress = campaigns.progress(session, session.get(Campaign, campaign.id))  # type: ignore[arg-type]
    assert (progress.status, progress.applied) == ("sent", 10)
    fixed_clock(services).advance(minutes=3)
    assert handlers.start_due_campaigns(services) == []  # sent: nothing to resume


@pytest.mark.postgres
def test_two_runs_of_one_campaign_at_once_apply_each_card_once(pg_services: Services) -> None:
    import threading
    from collections import Counter

    from app.loyalty.models import LedgerEntry
    from app.passes.models import WalletPass
    from app.services.programs import seed_demo
    from app.simulate.population import registered_passes

    n = 2500  # three chunks
    with pg_services.transaction() as tx:
        program = seed_demo(tx, pg_services.clock)
        tokens = [f"{i:064x}" for i in range(n)]
        registered_passes(tx, program, tokens, pg_services.clock.now(), stage="at_risk")
        campaign = campaigns.create(
            tx, pg_services.clock, program, draft(holdout_percent=0, bonus_points=50), "test"
        )
        campaign.status = "sending"
        campaign_id = campaign.id
    start = threading.Barrier(2)
    applied: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            applied.append(handlers.run_campaign(pg_services, campaign_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and sum(applied) == n
    with pg_services.transaction(write=False) as tx:
        assert tx.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) == "sent"
        bonus = Counter(
            tx.scalars(
                select(LedgerEntry.card_id).where(
                    LedgerEntry.reference == f"campaign:{campaign_id}"
                )
            )
        )
        assert len(bonus) == n and set(bonus.values()) == {1}
        versions = Counter(tx.scalars(select(WalletPass.version)))
        assert versions == {2: n}  # each pass changed once, not once per run


@pytest.mark.parametrize("backend", ["services", "pg_services"])
def test_the_audience_snapshot_draws_in_the_database_what_in_holdout_draws(
    request: pytest.FixtureRequest, backend: str
) -> None:
    """The snapshot is one INSERT ... SELECT: each card lands on the side of the holdout
    that in_holdout gives it (a retry of a card's offer relies on that), and cards
    offered within the frequency cap are kept but skipped, on SQLite and PostgreSQL."""
    from app.services.programs import seed_demo
    from app.simulate.population import registered_passes

    svc: Services = request.getfixturevalue(backend)
    n = 1200
    with svc.transaction() as tx:
        program = seed_demo(tx, svc.clock)
        registered_passes(tx, program, [f"{i:064x}" for i in range(n)], svc.clock.now())
        earlier = campaigns.create(
            tx, svc.clock, program, draft(segment={}, holdout_percent=0), "test"
        )
        tx.flush()
        cards = sorted(tx.scalars(select(Card.id).where(Card.program_id == program.id)))
        recent = cards[::7]  # offered a day ago: within the cap
        tx.add_all(
            CampaignTarget(
                campaign_id=earlier.id,
                card_id=c,
                holdout=False,
                targeted_at=svc.clock.now() - timedelta(days=1),
                applied_at=svc.clock.now() - timedelta(days=1),
            )
            for c in recent
        )
        earlier.status = "sent"
        campaign = campaigns.create(
            tx, svc.clock, program, draft(segment={}, holdout_percent=33.3), "test"
        )
        tx.flush()
        assert campaigns.select_targets(tx, svc.clock, campaign.id) == n
        # A second run finds the snapshot taken and adds nothing.
        assert campaigns.select_targets(tx, svc.clock, campaign.id) == n
        got = {
            t.card_id: (t.holdout, t.skipped)
            for t in tx.scalars(
                select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
            )
        }
    expected = {
        c: (
            campaigns.in_holdout(campaign.id, c, campaign.holdout_bp),
            "frequency_cap" if c in set(recent) else None,
        )
        for c in cards
    }
    assert got == expected
    held = sum(1 for h, _ in got.values() if h)
    assert 0.28 * n < held < 0.39 * n  # a third, drawn at random
