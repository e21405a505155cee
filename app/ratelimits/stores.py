"""Where the counters live: the database (default) or Redis. Both are shared by all
processes on all machines, and both forget idle keys (bounded memory)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from app.db import WRITE_OPTION
from app.ratelimits import rules
from app.ratelimits.models import RateLimitCounter
from app.settings import RateLimit

log = logging.getLogger(__name__)

PURGE_EVERY = 60.0  # seconds between opportunistic purges, per process
PURGE_BATCH = 1000  # stale rows deleted per purge transaction (a request waits ~10 ms at most)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    previous: int  # hits in the previous window
    current: int  # hits in the current window, this one included when allowed


class LimitStore(Protocol):
    def take(self, key: str, limit: RateLimit, now: float) -> Verdict:
        """Count one hit of ``key`` unless the limit is reached, atomically across
        every process that shares the store."""
        ...

    def purge(self, now: float) -> int:
        """Forget counters that no longer matter; returns how many went."""
        ...


_table = RateLimitCounter.__table__


class DatabaseStore:
    """Counters in ``rate_limit_counters``, each hit in its own short transaction on
    its own connection, so a request that rolls back still counts.

    The increment is one upsert guarded by the capacity (``... DO UPDATE ... WHERE
    hits < cap``): on PostgreSQL the conflicting row is locked and re-read, on SQLite
    the transaction holds the write lock, so no two processes can both take the last
    place. Stale rows go opportunistically (once a minute per process) and in the
    worker's hourly job.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(**{WRITE_OPTION: True})
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else None
        if engine.dialect.name == "sqlite":
            self._insert = sqlite.insert
        if self._insert is None:
            raise ValueError(f"rate limits do not support {engine.dialect.name} databases")
        self._next_purge = 0.0

    def take(self, key: str, limit: RateLimit, now: float) -> Verdict:
        per = limit.per_seconds
        start, elapsed = rules.window(now, per)
        c = RateLimitCounter
        with self._engine.begin() as conn:
            rows = dict(
                conn.execute(
                    select(c.window_start, c.hits).where(
                        c.key == key, c.window_start.in_((start - per, start))
                    )
                ).all()
            )
            previous, current = rows.get(start - per, 0), rows.get(start, 0)
            cap = rules.capacity(limit, previous, elapsed)
            taken = None
            if current < cap:
                stmt = self._insert(_table).values(
                    key=key, window_start=start, hits=1, expires_at=rules.expires_at(start, per)
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_table.c.key, _table.c.window_start],
                    set_={"hits": _table.c.hits + 1},
                    where=_table.c.hits < cap,
                ).returning(_table.c.hits)
                taken = conn.execute(stmt).scalar()
            if taken is None and current < cap:  # another process took the last place
                current = conn.execute(
                    select(c.hits).where(c.key == key, c.window_start == start)
                ).scalar_one()
            if now >= self._next_purge:
                self._purge(conn, now)
        if taken is not None:
            return Verdict(True, previous, int(taken))
        return Verdict(False, previous, current)

    def purge(self, now: float) -> int:
        """Every stale counter, a batch per short transaction (the hourly job)."""
        total = 0
        while True:
            with self._engine.begin() as conn:
                gone = self._purge(conn, now)
            total += gone
            if gone < PURGE_BATCH:
                return total

    def _purge(self, conn: Connection, now: float) -> int:
        """One batch, so a request that happens to purge stays quick."""
        self._next_purge = now + PURGE_EVERY
        c = RateLimitCounter
        stale = (
            select(c.key, c.window_start)
            .where(c.expires_at <= int(now))
            .order_by(c.expires_at)
            .limit(PURGE_BATCH)
        )
        result = conn.execute(delete(c).where(tuple_(c.key, c.window_start).in_(stale)))
        return int(result.rowcount or 0)


# Both windows of a key share a hash tag, so the script also runs on Redis Cluster.
_TAKE = """
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local cap = tonumber(ARGV[1]) - math.floor(previous * tonumber(ARGV[2]))
if current < cap then
  current = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  return {1, previous, current}
end
return {0, previous, current}
"""


class RedisStore:
    """Counters as Redis keys that expire by themselves when they stop mattering."""

    def __init__(self, client: Any, prefix: str = "walletpass:ratelimit") -> None:
        self._client = client
        self._script = client.register_script(_TAKE)
        self._prefix = prefix

    def _name(self, key: str, start: int) -> str:
        return f"{self._prefix}:{{{key}}}:{start}"

    def take(self, key: str, limit: RateLimit, now: float) -> Verdict:
        per = limit.per_seconds
        start, elapsed = rules.window(now, per)
        ttl = max(1, math.ceil(rules.expires_at(start, per) - now))
        allowed, previous, current = self._script(
            keys=[self._name(key, start), self._name(key, start - per)],
            args=[limit.count, repr(rules.previous_weight(per, elapsed)), ttl],
        )
        return Verdict(bool(allowed), int(previous), int(current))

    def purge(self, now: float) -> int:
        return 0  # Redis expires the keys itself
