"""`walletpass members import --invite`, run as an operator would (a real subprocess)
against the fake SMS.ru gateway on loopback; then the worker's tick and send tasks run
in-process on the same database, and the funnel shows the invites as source import."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.analytics.invites import funnel
from app.bootstrap import build_messaging, build_services
from app.clock import FixedClock
from app.fakes.sms import FakeSmsRu
from app.loyalty.models import Member, Program
from app.messaging.models import Invite, InviteCampaign
from app.messaging_settings import messaging_settings
from app.settings import Settings
from app.worker import invites as invite_worker
from tests.cli.test_commands import walletpass
from tests.invite_helpers import run_invite_tasks

# Two with a marketing consent (one Russian, one English), one without.
CSV = (
    "phone,name,locale,marketing_consent\n"
    "+79001110001,Вера,ru,yes\n"
    "+79001110002,Anna,en,да\n"
    "+79001110003,Oleg,ru,no\n"
)


@pytest.fixture
def gateway() -> Iterator[FakeSmsRu]:
    with FakeSmsRu().running() as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    assert walletpass(tmp_path, "db", "upgrade").returncode == 0
    seeded = walletpass(tmp_path, "demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    (tmp_path / "base.csv").write_text(CSV, encoding="utf-8")
    return tmp_path


def sms_env(gateway: FakeSmsRu) -> dict[str, str]:
    return {**gateway.env(), "WALLETPASS_SMS_SENDER": "DemoClub"}


def test_dry_run_counts_and_prices_then_apply_invites_through_the_gateway(
    workdir: Path, gateway: FakeSmsRu
) -> None:
    csv = str(workdir / "base.csv")
    dry = walletpass(
        workdir, "members", "import", "--program", "demo", "--invite", csv, **sms_env(gateway)
    )
    assert dry.returncode == 0, dry.stderr
    assert "invites: would invite 2 members by SMS" in dry.stdout
    # The fake prices 4.50 RUB a part; each of the two texts holds a 43-character link.
    assert "invites: estimated SMS cost " in dry.stdout
    cost = float(dry.stdout.split("estimated SMS cost ")[1].split(" RUB")[0])
    assert cost >= 2 * 4.5 and cost % 4.5 == 0
    assert [path for path, _ in gateway.requests] == ["/sms/cost"] and not gateway.sent

    done = walletpass(
        workdir,
        "members",
        "import",
        "--program",
        "demo",
        "--apply",
        "--invite",
        csv,
        **sms_env(gateway),
    )
    assert done.returncode == 0, done.stderr
    assert "created 3 members" in done.stdout
    assert "invite campaign #1 for 2 members by SMS, sending from" in done.stdout
    assert not gateway.sent  # the worker sends, after the commit

    env = {
        **os.environ,
        "WALLETPASS_INSTANCE_DIR": str(workdir / "instance"),
        "WALLETPASS_DEV_CERTS_DIR": str(workdir / "certs"),
        "WALLETPASS_PUBLIC_URL": "https://shop.example.test",
        "WALLETPASS_QUEUE_URL": "memory://",
        **sms_env(gateway),
    }
    services = build_services(Settings.from_env(env))
    try:
        noon = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
        services.clock = FixedClock(noon + timedelta(days=1))  # 12:00 in Moscow
        services.messaging = build_messaging(messaging_settings(env))
        assert invite_worker.tick(services) == 2
        assert run_invite_tasks(services)["sent"] == 2
        with services.transaction(write=False) as session:
            campaign = session.scalars(select(InviteCampaign)).one()
            assert (campaign.source, campaign.status, campaign.channel) == (
                "import",
                "sent",  # nobody left to invite after the first slice
                "sms",
            )
            invited = session.execute(
                select(Member.phone, Invite.source, Invite.status).join(
                    Invite, Invite.member_id == Member.id
                )
            ).all()
            assert sorted(invited) == [
                ("+79001110001", "import", "sent"),
                ("+79001110002", "import", "sent"),
            ]
            program = session.scalars(select(Program).where(Program.slug == "demo")).one()
            now = services.clock.now()
            rows = funnel(session, program.id, now - timedelta(days=1), now)
        assert [(r.channel, r.source, r.sent) for r in rows] == [
            ("sms", "import", 2),
            ("all", "all", 2),
        ]
        texts = {d.number: d.text for d in gateway.sent}
        assert set(texts) == {"79001110001", "79001110002"}
        assert "ваша карта https://shop.example.test/c/" in texts["79001110001"]
        assert "your card https://shop.example.test/c/" in texts["79001110002"]
        # The next tick finds nobody left: the campaign is done, nobody invited twice.
        services.clock = FixedClock(services.clock.now() + timedelta(minutes=1))
        assert invite_worker.tick(services) == 0
        assert len(gateway.sent) == 2
    finally:
        services.close()


def test_without_channel_settings_nobody_is_invited(workdir: Path) -> None:
    csv = str(workdir / "base.csv")
    done = walletpass(workdir, "members", "import", "--program", "demo", "--apply", "--invite", csv)
    assert done.returncode == 0, done.stderr
    assert "created 3 members" in done.stdout
    assert "invites: the channel is off (email: " in done.stdout
    assert "nobody is invited" in done.stdout
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'walletpass.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM invite_campaigns")).scalar_one() == 0
    engine.dispose()
