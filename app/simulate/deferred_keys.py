"""Loading empty PostgreSQL tables without their secondary indexes and foreign keys.

COPY into a table pays, per row, for every index entry and every foreign-key check.
Into empty tables it is much cheaper to drop those first and build them once at the
end: an index from sorted data, a foreign key by one join. The definitions are read
from the catalog (``pg_get_indexdef``, ``pg_get_constraintdef``) just before they are
dropped, so what is recreated is exactly what the migrations made. Everything happens
in the caller's transaction: an error rolls the drops back with the data.

The drops lock the tables (and the tables their keys refer to) until the commit, so
this is for a database nobody uses yet: a fresh chain, a benchmark, a demo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Index builds at the end sort in memory up to this much (per build, this transaction).
BUILD_MEMORY = "256MB"


@dataclass(frozen=True)
class Keys:
    """What was dropped, in the order it is recreated."""

    tables: tuple[str, ...]
    indexes: tuple[str, ...]  # CREATE INDEX statements
    constraints: tuple[tuple[str, str, str], ...]  # (table, name, definition)


def _empty(session: Session, table: str) -> bool:
    return session.scalar(text(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")) is True  # noqa: S608 - our table names


def _read(session: Session, tables: Sequence[str]) -> Keys:
    """The foreign keys and unique constraints of ``tables`` and their plain indexes
    (not the primary keys, not a unique constraint another table's key refers to)."""
    tables_ = {"tables": list(tables)}
    # Unique constraints first (a foreign key recreated may need one), then foreign keys.
    constraints = session.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND ("
            "  c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS ("
            "    SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid"
            "  ))"
            ") ORDER BY c.contype = 'f', c.conrelid::regclass::text, c.conname"
        ),
        tables_,
    ).all()
    # Plain indexes: neither a constraint's own index nor one a foreign key refers to.
    indexes = session.scalars(
        text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY i.indrelid::regclass::text, i.indexrelid::regclass::text"
        ),
        tables_,
    ).all()
    return Keys(
        tables=tuple(tables),
        indexes=tuple(indexes),
        constraints=tuple((t, name, d) for t, name, d in constraints),
    )


def _index_name(definition: str) -> str:
    # "CREATE [UNIQUE] INDEX name ON schema.table USING …"
    return definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]


def _drop(session: Session, keys: Keys) -> None:
    for table, name, _ in reversed(keys.constraints):  # foreign keys first
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for definition in keys.indexes:
        session.execute(text(f"DROP INDEX {_index_name(definition)}"))


def _create(session: Session, keys: Keys) -> None:
    session.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
    for definition in keys.indexes:
        session.execute(text(definition))
    for table, name, definition in keys.constraints:
        session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for table in keys.tables:
        session.execute(text(f"ANALYZE {table}"))


@contextmanager
def deferred(session: Session, tables: Sequence[str]) -> Iterator[Keys | None]:
    """Within the block, ``tables`` (PostgreSQL, all of them empty) have no secondary
    indexes, unique constraints or foreign keys; at its end they are built again and
    the tables analyzed. Yields what was dropped, or None (another database, a table
    with rows) when nothing was."""
    if session.get_bind().dialect.name != "postgresql" or not all(
        _empty(session, t) for t in tables
    ):
        yield None
        return
    session.flush()
    keys = _read(session, tables)
    _drop(session, keys)
    yield keys
    session.flush()
    started = time.perf_counter()
    _create(session, keys)
    log.info(
        "%d indexes and %d constraints built after the load in %.1f s",
        len(keys.indexes),
        len(keys.constraints),
        time.perf_counter() - started,
    )
