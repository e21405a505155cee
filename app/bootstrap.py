"""The composition root: the only place that builds engines, signers and clients.

``build_services(settings)`` is called by create_app(), the CLI and the worker;
tests call it with their own settings (and may replace pieces, e.g. the clock).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from alembic import command
from alembic.config import Config
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app import metrics
from app.clock import Clock, SystemClock
from app.db import AFTER_COMMIT, after_commit, make_engine, make_sessionmaker
from app.loyalty.models import LedgerEntry
from app.messaging.mail import Mailer, build_mailer
from app.messaging.sms import SmsProvider, build_sms
from app.messaging_settings import MessagingSettings
from app.passes.apple.builder import AppleIdentity, PkpassBuilder
from app.passes.apple.certs import (
    CertReport,
    SigningIdentity,
    check_identity,
    generate_dev_chain,
    load_signing_identity,
)
from app.passes.apple.signing import CmsPassSigner, PassSigner
from app.passes.google.auth import AccessTokens, ServiceAccount
from app.passes.google.callbacks import CallbackVerifier, load_root_keys
from app.passes.google.client import GoogleWalletClient
from app.passes.sync import CHANGED_PASSES
from app.passes.templates import TemplateStore
from app.queue import TaskQueue, make_huey
from app.ratelimits.limiter import RateLimiter
from app.ratelimits.stores import DatabaseStore, LimitStore, RedisStore
from app.services import phone_keys
from app.settings import SOURCE_ROOT, GoogleSettings, Settings, ensure_instance_dir, resource_dir
from app.webhooks.rules import NEW_DELIVERIES

log = logging.getLogger(__name__)


@dataclass
class GoogleWallet:
    """Google Wallet parts, present only when WALLETPASS_GOOGLE_* are set."""

    settings: GoogleSettings
    account: ServiceAccount
    client: GoogleWalletClient
    # From a WALLETPASS_GOOGLE_ROOT_KEYS file. For a URL it is None: the worker keeps
    # the keys in the database (services.google_keys) and the web reads them there.
    verifier: CallbackVerifier | None


def build_google(settings: Settings) -> GoogleWallet | None:
    google = settings.google
    if google is None:
        return None
    account = ServiceAccount.from_file(google.service_account_file)
    tokens = AccessTokens(account, google.token_url)
    verifier = None
    if google.root_keys is not None and google.root_keys_url is None:
        text = Path(google.root_keys).read_bytes()
        verifier = CallbackVerifier(google.issuer_id, load_root_keys(text, now_ms=None))
    client = GoogleWalletClient(google.api_url, tokens, rate_per_second=google.requests_per_second)
    return GoogleWallet(google, account, client, verifier)


@dataclass
class Messaging:
    """The invite channels; a channel without settings is None and ``off`` says why."""

    sms: SmsProvider | None = None
    mail: Mailer | None = None
    off: dict[str, str] = field(default_factory=dict)

    @property
    def channels_on(self) -> frozenset[str]:
        return frozenset(
            name for name, client in (("sms", self.sms), ("email", self.mail)) if client
        )


def build_messaging(settings: MessagingSettings) -> Messaging:
    off = {}
    if settings.sms is None:
        off["sms"] = settings.sms_off
    if settings.smtp is None:
        off["email"] = settings.email_off
    return Messaging(build_sms(settings.sms), build_mailer(settings.smtp), off)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    engine: Engine
    read_sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    templates: TemplateStore
    signing_identity: SigningIdentity
    pkpass: PkpassBuilder
    queue: TaskQueue
    limiter: RateLimiter
    google: GoogleWallet | None = None
    messaging: Messaging = field(default_factory=lambda: build_messaging(MessagingSettings()))
    extras: dict[str, object] = field(default_factory=dict)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = (self.write_sessions if write else self.read_sessions)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A plain connection for hot read-only lookups that need no ORM session."""
        with self.engine.connect() as conn:
            yield conn

    def schema_heads(self) -> tuple[str, ...]:
        """The migration heads the database is at, read over a fresh connection (so it
        also says whether the database answers); for the readiness probe."""
        from alembic.runtime.migration import MigrationContext

        with self.lookup() as conn:
            conn.execute(text("SELECT 1"))
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))

    def close(self) -> None:
        self.engine.dispose()


def dev_chain_paths(settings: Settings) -> dict[str, Path]:
    d = settings.dev_certs_dir
    return {"root": d / "root.pem", "wwdr": d / "wwdr.pem", "p12": d / "pass.p12"}


def ensure_dev_certificates(settings: Settings, clock: Clock) -> None:
    """Create the local certificate chain on first run (development only)."""
    paths = dev_chain_paths(settings)
    if all(p.is_file() for p in paths.values()):
        return
    log.warning(
        "creating development pass-signing certificates in %s "
        "(iPhones will not accept passes signed with them; see certs/README.md)",
        settings.dev_certs_dir,
    )
    generate_dev_chain(
        settings.dev_certs_dir,
        settings.apple.pass_type_id,
        settings.apple.team_id,
        now=clock.now(),
    )


def load_identity(settings: Settings, clock: Clock) -> SigningIdentity:
    apple = settings.apple
    if apple.cert_file is None:
        ensure_dev_certificates(settings, clock)
        paths = dev_chain_paths(settings)
        return load_signing_identity(
            paths["p12"], key_file=None, password=None, wwdr_file=paths["wwdr"]
        )
    assert apple.wwdr_cert_file is not None  # settings validation guarantees it
    return load_signing_identity(
        apple.cert_file,
        key_file=apple.key_file,
        password=apple.cert_password,
        wwdr_file=apple.wwdr_cert_file,
    )


def apns_client_pem_files(identity: SigningIdentity, folder: Path) -> tuple[Path, Path]:
    """PEM files of the Pass Type ID certificate (with its WWDR intermediate) and key,
    for the TLS client authentication APNs asks for; the folder and key are private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert, key = folder / "client.pem", folder / "client-key.pem"
    cert.write_bytes(
        identity.certificate.public_bytes(Encoding.PEM) + identity.wwdr.public_bytes(Encoding.PEM)
    )
    key.touch(mode=0o600)
    key.write_bytes(
        identity.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    return cert, key


def certificate_report(settings: Settings, identity: SigningIdentity, clock: Clock) -> CertReport:
    """The chain, ids and expiry of the signing identity against the settings (the
    development chain is also checked up to its own root)."""
    root = None
    if settings.apple.uses_dev_certs:
        root = x509.load_pem_x509_certificate(dev_chain_paths(settings)["root"].read_bytes())
    return check_identity(
        identity,
        expected_pass_type_id=settings.apple.pass_type_id,
        expected_team_id=settings.apple.team_id,
        now=clock.now(),
        root=root,
    )


def watch_changes(maker: sessionmaker[Session], queue: TaskQueue) -> None:
    """After a commit, enqueue delivery of every pass the transaction marked changed
    and of the webhook deliveries it wrote.

    Nothing leaves the process before the commit, and a lost enqueue (a crash right
    here) is caught by the sweeper a minute later. Committed ledger entries are
    counted in the process metrics.
    """

    @event.listens_for(maker, "after_commit")
    def _enqueue(session: Session) -> None:
        ids = session.info.pop(CHANGED_PASSES, None)
        if ids:
            queue.deliver(ids)
        webhooks = session.info.pop(NEW_DELIVERIES, None)
        if webhooks:
            queue.deliver_webhooks(webhooks)
        for action in session.info.pop(AFTER_COMMIT, []):
            action()

    @event.listens_for(maker, "after_rollback")
    def _forget(session: Session) -> None:
        if not session.in_nested_transaction():
            session.info.pop(CHANGED_PASSES, None)
            session.info.pop(NEW_DELIVERIES, None)
            session.info.pop(AFTER_COMMIT, None)

    @event.listens_for(maker, "after_flush")
    def _count_ledger(session: Session, context: object) -> None:
        # Counted once the transaction commits (a rollback forgets them with the rest).
        # The ledger's savepoints wrap a single insert, so a flushed entry is not
        # undone by a savepoint alone.
        for obj in session.new:
            if isinstance(obj, LedgerEntry):
                after_commit(session, partial(metrics.count_ledger, obj.kind, obj.points))


def build_limiter(settings: Settings, engine: Engine, clock: Clock) -> RateLimiter:
    """Rate limits shared by every process: in Redis when WALLETPASS_RATE_LIMIT_URL is
    set, else in the database (its own short transactions, not the request's)."""
    store: LimitStore
    fail_open: tuple[type[Exception], ...] = ()
    if settings.rate_limit_url is not None:
        import redis

        client = redis.Redis.from_url(
            settings.rate_limit_url, socket_timeout=2, socket_connect_timeout=2
        )
        store = RedisStore(client)
        fail_open = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    else:
        store = DatabaseStore(engine)
    return RateLimiter(store, clock, settings.secret_key, fail_open=fail_open)


def build_services(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    signer: PassSigner | None = None,
) -> Services:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    ensure_instance_dir(settings.instance_dir)
    metrics.configure(settings.metrics_dir)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    identity = load_identity(settings, clock)
    templates = TemplateStore(settings.templates_dir)
    pkpass = PkpassBuilder(
        signer or CmsPassSigner(identity),
        templates,
        AppleIdentity(settings.apple.pass_type_id, settings.apple.team_id, settings.passkit_url),
    )
    queue = TaskQueue(make_huey(settings.queue_url, settings.instance_dir))
    info = phone_keys.session_info(settings.secret_key)
    write_sessions = make_sessionmaker(engine, write=True, info=info)
    watch_changes(write_sessions, queue)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        read_sessions=make_sessionmaker(engine, write=False, info=info),
        write_sessions=write_sessions,
        templates=templates,
        signing_identity=identity,
        pkpass=pkpass,
        queue=queue,
        limiter=build_limiter(settings, engine, clock),
        google=build_google(settings),
        messaging=build_messaging(settings.messaging),
    )


def alembic_config(database_url: str) -> Config:
    ini = SOURCE_ROOT / "alembic.ini"  # a clone has it (for `alembic revision`); a wheel not
    config = Config(str(ini)) if ini.is_file() else Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class MigrationState:
    current: str | None  # None: an empty database
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def migration_state(database_url: str) -> MigrationState:
    """Where the database's schema stands against the newest migration of this code.
    Opens and closes its own engine (safe before a fork)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head is not None
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return MigrationState(current, head)


def upgrade_database(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
