"""Helpers for tests: reading .pkpass bundles and .strings files like Wallet does."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.clock import FixedClock

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.bootstrap import Services
    from app.loyalty.models import Card, Program
    from app.till.models import Receipt, Terminal

START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
PASS_TYPE_ID = "pass.test.walletpass.loyalty"
TEAM_ID = "TESTTEAM42"

_STRINGS_LINE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)";$')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), text)


def parse_strings(data: bytes) -> dict[str, str]:
    """Strict parser of Apple's .strings format: every non-empty line must be a pair."""
    table: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _STRINGS_LINE.match(line)
        if match is None:
            raise ValueError(f'line {number} is not a \'"key" = "value";\' pair: {line!r}')
        table[_unescape(match.group(1))] = _unescape(match.group(2))
    return table


@dataclass
class Pkpass:
    files: dict[str, bytes]

    @classmethod
    def read(cls, data: bytes) -> Pkpass:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None, "a zip entry has a bad CRC"
            return cls({name: archive.read(name) for name in archive.namelist()})

    @property
    def pass_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.files["pass.json"])
        return data

    @property
    def manifest(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.files["manifest.json"])
        return data

    def strings(self, lang: str) -> dict[str, str]:
        return parse_strings(self.files[f"{lang}.lproj/pass.strings"])


def fixed_clock(services: Services) -> FixedClock:
    """The services' clock as the FixedClock the fixtures build them with, to ``set`` or
    ``advance`` (the ``clock`` fixture is the same object)."""
    clock = services.clock
    assert isinstance(clock, FixedClock), "these services run on the real clock"
    return clock


def require(what: str, available: object, how: str) -> None:
    """Skip a test whose real component is missing on a developer's machine; in CI
    (CI=true) fail it instead, so a green run never hides a missing component."""
    import os

    import pytest

    if available:
        return
    message = f"{what} is not available here ({how})"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI needs it: {message}", pytrace=False)
    pytest.skip(message)


def postgres_url() -> str:
    """The scaled-out test database (WALLETPASS_TEST_DATABASE_URL)."""
    import os

    url = os.environ.get("WALLETPASS_TEST_DATABASE_URL")
    require("PostgreSQL", url, "set WALLETPASS_TEST_DATABASE_URL")
    assert url is not None
    return url


def redis_url() -> str:
    """The scaled-out test queue (WALLETPASS_TEST_REDIS_URL)."""
    import os

    url = os.environ.get("WALLETPASS_TEST_REDIS_URL")
    require("Redis", url, "set WALLETPASS_TEST_REDIS_URL")
    assert url is not None
    return url


def require_command(name: str, package: str) -> str:
    """The path of a command-line tool the test drives (openssl, pdftoppm, nginx …)."""
    import shutil

    path = shutil.which(name)
    require(name, path, f"apt-get install {package}")
    assert path is not None
    return path


def population(session: Session, services: Services, program: Program, n: int) -> list[Card]:
    """n members with cards and registered iPhones; every fourth is "at risk"."""
    from app.db import new_public_id
    from app.loyalty.models import Card, Member
    from app.passes.models import AppleDevice, AppleRegistration, WalletPass
    from app.services import wallet_counts

    now = services.clock.now()
    cards = []
    for i in range(n):
        member = Member(
            program_id=program.id,
            phone=f"+7907{i:07d}",
            name=f"C{i}",
            locale="ru",
            marketing_consent=True,
            created_at=now,
            stage="at_risk" if i % 4 == 0 else "active",
            birthday=datetime(1990, 1 + i % 12, 1).date(),
        )
        session.add(member)
        session.flush()
        card = Card(
            public_id=new_public_id(),
            program_id=program.id,
            member_id=member.id,
            number=f"{i:013d}",
            barcode_secret="S" * 10,
            tier_id=program.default_tier.id,
            balance=0,
            status="active",
            apple_installed_at=now if i % 2 == 0 else None,
            created_at=now,
        )
        session.add(card)
        session.flush()
        wallet_pass = WalletPass(
            card_id=card.id,
            serial_number=new_public_id(),
            auth_token="t" * 24,
            version=1,
            apns_delivered_version=1,
            updated_at=now,
            last_modified=0,
            created_at=now,
        )
        device = AppleDevice(
            library_id=f"lib{i}", push_token=f"{i:064x}", created_at=now, updated_at=now
        )
        session.add_all([wallet_pass, device])
        session.flush()
        session.add(AppleRegistration(device_id=device.id, pass_id=wallet_pass.id, created_at=now))
        cards.append(card)
    session.flush()
    wallet_counts.rebuild(session, program)  # rows written around the PassKit service
    session.commit()
    return cards


CONSOLE_PASSWORD = "a long enough passphrase"


def console_login(client: Any, session: Session, services: Services, role: str = "marketer") -> str:
    """Create a staff user of ``role`` and log the test client in; returns the e-mail."""
    from app.services import staff
    from app.services.jobs import all_programs

    email = f"{role}.user@example.com"
    staff.add_user(
        session,
        services.clock,
        email=email,
        name=role.title(),
        role=role,
        password=CONSOLE_PASSWORD,
        actor="test",
        programs=all_programs(session),
    )
    session.commit()
    console_sign_in(client, email)
    return email


def console_sign_in(client: Any, email: str) -> None:
    """Log the test client in again as a user of ``console_login`` (after the clock moved
    past the session's idle or absolute lifetime)."""
    import re

    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/console/login", data={"csrf_token": token, "email": email, "password": CONSOLE_PASSWORD}
    )
    assert response.status_code == 303, "console login failed"


def sale(
    terminal: Terminal,
    key: str,
    at: datetime,
    due: int,
    card_id: int | None = None,
    store_id: int | None = None,
) -> Receipt:
    """A receipt as the till records it, with no discount or points (analytics tests)."""
    from app.till.models import Receipt

    return Receipt(
        program_id=terminal.program_id,
        terminal_id=terminal.id,
        store_id=store_id,
        receipt_id=key,
        card_id=card_id,
        amount=due,
        discount_bp=0,
        discount_amount=0,
        points_redeemed=0,
        point_value_minor=100,
        points_earned=0,
        amount_due=due,
        request_hash="h",
        created_at=at,
    )
