"""Issue 17, finding 9: the instance directory and its databases are private to the
service's user (they hold phones, barcode secrets, pass tokens and password hashes)."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from app.bootstrap import build_services, upgrade_database
from app.passes.apple.certs import DevChain
from tests.conftest import make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_instance_directory_and_databases_are_private(tmp_path: Path, dev_chain: DevChain) -> None:
    instance = tmp_path / "instance"
    settings = make_settings(
        tmp_path,
        WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent),
        WALLETPASS_DATABASE_URL=f"sqlite:///{instance / 'walletpass.db'}",
        WALLETPASS_QUEUE_URL=f"sqlite:///{instance / 'queue.db'}",
    )
    upgrade_database(settings.database_url)  # `walletpass db upgrade` creates the file
    services = build_services(settings)
    try:
        services.queue.run_campaign(1)  # the queue file gets written
        with services.transaction() as session:
            session.execute(text("SELECT 1"))
    finally:
        services.close()
    assert mode(instance) == 0o700
    for name in ("walletpass.db", "queue.db"):
        assert mode(instance / name) == 0o600, name
    for extra in instance.glob("*.db-*"):  # WAL and shared-memory files
        assert mode(extra) & 0o077 == 0, extra


def test_an_existing_instance_is_tightened(tmp_path: Path, dev_chain: DevChain) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    database = instance / "walletpass.db"
    settings = make_settings(
        tmp_path,
        WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent),
        WALLETPASS_DATABASE_URL=f"sqlite:///{database}",
    )
    upgrade_database(settings.database_url)
    database.chmod(0o644)
    build_services(settings).close()
    assert mode(instance) == 0o700
    assert mode(database) == 0o600
