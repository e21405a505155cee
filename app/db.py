"""Database kernel: declarative base, column types, engines and sessions.

SQLite (the embedded default) and PostgreSQL (scaled out) are both first-class.
On SQLite a writing transaction starts with ``BEGIN IMMEDIATE`` so two writers
queue on the database lock instead of failing half-way with "database is locked";
on PostgreSQL writers lock the rows they change (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String, create_engine, event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "walletpass_write"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Money and points: BIGINT on PostgreSQL (amounts up to app.bounds.MAX_MONEY); SQLite's
# INTEGER already holds 64 bits.
BigMoney = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, whatever the database keeps.

    SQLite has no time zones: values are stored as naive UTC and made aware again
    on the way out. Naive datetimes are refused so local time never sneaks in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_public_id() -> str:
    """A random identifier for URLs and APIs (never sequential, 128 bits)."""
    return secrets.token_urlsafe(16)


def public_id_column() -> String:
    return String(32)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    # hide_parameters: an error's text (and so its logged traceback) shows the SQL but
    # not the values, which are phone numbers, tokens and card secrets.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        if engine.url.database not in (None, "", ":memory:"):
            private_file(Path(str(engine.url.database)))
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,
    )


def private_file(path: Path) -> None:
    """Create ``path`` (and its directory) readable by this user only, or tighten an
    existing one: a SQLite file holds phones, card secrets, tokens and password hashes.
    SQLite gives its -wal and -shm files the database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    path.chmod(0o600)


def draw_u32(key: str) -> int:
    """The first four bytes of the SHA-256 of ``key`` (UTF-8) as an unsigned integer: a
    random but repeatable draw. ``sha256_u32`` computes the same in SQL."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


class sha256_u32(FunctionElement[int]):
    """``draw_u32`` of a text expression, computed by the database (a Python function
    registered on SQLite connections; built-ins on PostgreSQL)."""

    type = BigInteger()
    inherit_cache = True
    name = "sha256_u32"


@compiles(sha256_u32)
def _sha256_u32_function(element: sha256_u32, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sha256_u32({compiler.process(element.clauses, **kw)})"


@compiles(sha256_u32, "postgresql")
def _sha256_u32_postgresql(element: sha256_u32, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    digest = f"sha256(convert_to({key}, 'UTF8'))"
    return f"(('x' || encode(substring({digest} from 1 for 4), 'hex'))::bit(32)::bigint)"


def _configure_sqlite(engine: Engine) -> None:
    # Take transaction control away from the sqlite3 module so SQLAlchemy's BEGIN
    # (and our BEGIN IMMEDIATE for writers) is what actually runs.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.create_function("sha256_u32", 1, draw_u32, deterministic=True)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: this runs on every transaction, and going through
        # exec_driver_sql would cost as much as the query itself.
        dbapi_conn: Any = conn.connection.dbapi_connection
        dbapi_conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(
    engine: Engine, *, write: bool, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions for reading, or for writing (SQLite takes the write lock up front);
    ``info`` is copied into every session's ``info``."""
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True, info=info or {})


def refresh_statistics(session: Session) -> None:
    """Table statistics for the query planner. SQLite gathers them only when asked;
    PostgreSQL's autovacuum does it, unless it is turned off (it is on some hosts) or
    has not caught up after a bulk import. Without them SQLite walks the receipts' date
    index across a whole year instead of joining on the card, and PostgreSQL's
    dashboard reads took minutes instead of seconds."""
    # A whole pass on SQLite, not a sample (analysis_limit): samples misjudged how many
    # receipts a card has (a fifth have none) and the plans got slower, not faster.
    session.execute(text("ANALYZE"))


def lock_for_update(session: Session) -> bool:
    """Whether row locks (FOR UPDATE) are meaningful on this session's database."""
    return session.get_bind().dialect.name != "sqlite"


AFTER_COMMIT = "walletpass.after_commit"


class Transactions(Protocol):
    """An entry point's units of work (``Services.transaction``): each ``with`` block
    commits on success and rolls back on error. For use cases that must call out
    between two short transactions; everything else takes one session."""

    def __call__(self, *, write: bool = True) -> AbstractContextManager[Session]: ...


def after_commit(session: Session, action: Any) -> None:
    """Run ``action()`` once this session's transaction has committed (never if it rolls
    back). Bootstrap installs the listener that runs them."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


def upsert(session: Session, model: Any) -> Any:
    """An INSERT that takes ON CONFLICT clauses, in the session's dialect (PostgreSQL or
    SQLite, the two the service runs on)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


@contextmanager
def planner(session: Session, **settings: str) -> Iterator[None]:
    """PostgreSQL's planner settings changed for the statements in the block (within the
    caller's transaction, as they were after it); nothing on other databases."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    set_config = text("SELECT set_config(:name, :value, true)")
    before = {n: session.scalar(text("SELECT current_setting(:n)"), {"n": n}) for n in settings}
    for name, value in settings.items():
        session.execute(set_config, {"name": name, "value": value})
    yield  # after an error the transaction's rollback undoes them
    for name, value in before.items():
        session.execute(set_config, {"name": name, "value": value})
