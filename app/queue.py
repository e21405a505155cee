"""The task queue: Huey behind a few named tasks.

Bootstrap builds it from WALLETPASS_QUEUE_URL (SQLite file by default, Redis or
PostgreSQL when several machines share the work). Task bodies are attached by the
worker (``handle``); a web process only enqueues. Tasks carry ids, never objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey, crontab

CHUNK = 1000  # passes per delivery task
CAMPAIGN_RETRIES = 2
QUEUE_NAME = "walletpass"


def make_huey(queue_url: str | None, instance_dir: Path) -> Huey:
    """The Huey instance for a queue URL (validated by settings). Task results are not
    stored: nothing reads them, and kept they grew the queue's storage by a result per
    task (a thousand per million-card campaign) for ever."""
    url = queue_url or f"sqlite:///{instance_dir / 'queue.db'}"
    if url.startswith("sqlite:///"):
        filename = url.removeprefix("sqlite:///")
        # Private like the main database (the tasks carry ids, but not only ids in future).
        if not os.path.exists(filename):
            os.makedirs(os.path.dirname(filename) or ".", mode=0o700, exist_ok=True)
        os.close(os.open(filename, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(filename, 0o600)
        return SqliteHuey(QUEUE_NAME, filename=filename, results=False)
    if url.startswith(("redis://", "rediss://")):
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(QUEUE_NAME, dsn=dsn, results=False)
    if url == "memory://":
        return MemoryHuey(QUEUE_NAME, results=False)
    raise ValueError(f"unsupported queue URL {url!r}")


class TaskQueue:
    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._deliver = huey.task(retries=3, retry_delay=5, name="deliver_passes")(
            self._dispatch("deliver_passes")
        )
        self._campaign = huey.task(
            retries=CAMPAIGN_RETRIES, retry_delay=30, name="run_campaign", context=True
        )(self._run_campaign)
        # Invites: retried by the task only for the database's trouble; a gateway's failure
        # is recorded per invite and the invite sweep tries again later.
        self._invites = huey.task(retries=2, retry_delay=30, name="send_invites")(
            self._dispatch("send_invites")
        )
        # Each minute: the next throttled slice of every running invite campaign, and
        # queued invites whose enqueue was lost or whose retry time has come.
        huey.periodic_task(crontab(minute="*"), name="invite_tick")(self._dispatch("invite_tick"))
        self._google_class = huey.task(retries=5, retry_delay=60, name="sync_google_class")(
            self._dispatch("sync_google_class")
        )
        huey.periodic_task(crontab(minute="*"), name="start_due_campaigns")(
            self._dispatch("start_due_campaigns")
        )
        # The sweeper re-sends what is owed for over a minute (lost enqueues, dead workers).
        huey.periodic_task(crontab(minute="*"), name="sweep_outbox")(self._dispatch("sweep_outbox"))
        # Google's callback keys, fetched again when their Cache-Control lifetime ends.
        huey.periodic_task(crontab(minute="*"), name="refresh_google_keys")(
            self._dispatch("refresh_google_keys")
        )
        # Webhooks: a failed try is rescheduled in the outbox (not by Huey) and the
        # minute sweep enqueues what is due, lost enqueues included.
        self._webhooks = huey.task(retries=2, retry_delay=30, name="deliver_webhooks")(
            self._dispatch("deliver_webhooks")
        )
        huey.periodic_task(crontab(minute="*"), name="sweep_webhooks")(
            self._dispatch("sweep_webhooks")
        )
        # Hourly: the birthday job runs on each program's local date and is idempotent.
        huey.periodic_task(crontab(minute="5"), name="daily_jobs")(self._dispatch("daily_jobs"))

    def _dispatch(self, name: str) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            return self._handlers[name](*args)

        run.__name__ = name
        return run

    def _run_campaign(self, campaign_id: int, task: Any = None) -> Any:
        """The campaign's handler; when its last retry fails too, the "campaign_failed"
        handler records why (the campaign stops being "sending" forever)."""
        try:
            return self._handlers["run_campaign"](campaign_id)
        except Exception as exc:
            if task is None or not task.retries:
                failed = self._handlers.get("campaign_failed")
                if failed is not None:
                    failed(campaign_id, f"{type(exc).__name__}: {exc}")
            raise

    def handle(self, name: str, handler: Callable[..., Any]) -> None:
        self._handlers[name] = handler

    def deliver(self, pass_ids: Iterable[int], chunk: int = CHUNK, delay: float = 0) -> int:
        """Enqueue delivery of the passes in chunks, to run ``delay`` seconds from now;
        returns the number of tasks."""
        ids = sorted(set(pass_ids))
        for start in range(0, len(ids), chunk):
            if delay:
                self._deliver.schedule(args=(ids[start : start + chunk],), delay=delay)
            else:
                self._deliver(ids[start : start + chunk])
        return (len(ids) + chunk - 1) // chunk

    def send_invites(self, invite_ids: Iterable[int], chunk: int = 100) -> int:
        """Enqueue sending of invites, 100 a task (one SMS gateway request)."""
        ids = sorted(set(invite_ids))
        for start in range(0, len(ids), chunk):
            self._invites(ids[start : start + chunk])
        return (len(ids) + chunk - 1) // chunk

    def deliver_webhooks(self, delivery_ids: Iterable[int], chunk: int = 50) -> int:
        """Enqueue webhook deliveries, 50 a task; returns the number of tasks."""
        ids = sorted(set(delivery_ids))
        for start in range(0, len(ids), chunk):
            self._webhooks(ids[start : start + chunk])
        return (len(ids) + chunk - 1) // chunk

    def run_campaign(self, campaign_id: int) -> None:
        self._campaign(campaign_id)

    def sync_google_class(self, program_id: int) -> None:
        self._google_class(program_id)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def queued_deliveries(self) -> set[int]:
        """Passes in delivery tasks waiting in the queue or for a retry: not lost, so the
        sweeper leaves them (a campaign's backlog would otherwise be enqueued again every
        minute while it waits its turn). A task being run right now is not listed."""
        ids: set[int] = set()
        for task in (*self.huey.pending(), *self.huey.scheduled()):
            if task.name == "deliver_passes" and task.args:
                ids.update(task.args[0])
        return ids
