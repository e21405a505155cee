"""Process metrics shared by every web and worker process through one directory.

prometheus_client's multiprocess mode: each process writes its counters to memory-mapped
files named by its pid in the metrics directory, and a scrape sums the files. The
library picks its value store from PROMETHEUS_MULTIPROC_DIR when it is first imported
and each labelled child reads that choice when it is created, so ``configure`` sets the
variable, re-reads the library's choice and drops children created before.

Files of processes that have exited are folded into one archive file per type (sums
are exact for counters and histograms), so totals never go backwards when a worker
restarts and the directory does not grow with every process that ever ran. The
directory belongs to one machine (pids are checked for liveness) and must not be
shared across machines or containers with their own pid namespaces.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram, values
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ARCHIVED = ("counter", "histogram", "summary")  # additive types, folded on exit
_FILE = re.compile(r"^(?P<prefix>[a-z]+(?:_[a-z]+)?)_(?P<pid>\d+)\.db$")
_LOCK = ".lock"

# Parents only: their children (one per label set) are created on first use, after
# configure(). They are registered nowhere; a scrape reads the files.
HTTP_REQUESTS = Counter(
    "walletpass_http_requests",
    "HTTP requests by route template (never the concrete path) and status.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_LATENCY = Histogram(
    "walletpass_http_request_duration_seconds",
    "Time to produce the response, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
PUSHES = Counter(
    "walletpass_pushes",
    "Pass update pushes by channel (apns, google, relays) and outcome.",
    ["channel", "outcome"],
    registry=None,
)
LEDGER_OPERATIONS = Counter(
    "walletpass_ledger_operations",
    "Committed ledger entries by kind (bonus, earn, burn, expire, adjust, refund).",
    ["kind"],
    registry=None,
)
LEDGER_POINTS = Counter(
    "walletpass_ledger_points",
    "Points moved by committed ledger entries (absolute), by kind.",
    ["kind"],
    registry=None,
)
_ALL = (HTTP_REQUESTS, HTTP_LATENCY, PUSHES, LEDGER_OPERATIONS, LEDGER_POINTS)

_configured: Path | None = None


def configure(directory: Path) -> None:
    """Make this process write its metrics under ``directory`` (created if missing) and
    fold in the files of processes that have exited. Idempotent; pointing a process at
    another directory (tests do) starts its metrics afresh there."""
    global _configured
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if _configured == directory and os.environ.get(ENV) == str(directory):
        return
    os.environ[ENV] = str(directory)
    old = values.ValueClass
    values.ValueClass = values.get_value_class()
    with warnings.catch_warnings():
        # The library warns that clearing leaves the series in the files: here only the
        # in-process handles are dropped, so new ones bind to the new store.
        warnings.simplefilter("ignore", UserWarning)
        for metric in _ALL:
            metric.clear()
    close = getattr(old, "close_all_files", None)
    if close is not None:
        close()
    _configured = directory
    archive_dead(directory)


def directory() -> Path | None:
    """The directory this process writes to, once configured."""
    return _configured


@contextmanager
def _locked(directory: Path, exclusive: bool) -> Iterator[None]:
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def archive_dead(directory: Path, pids: Iterable[int] | None = None) -> int:
    """Fold the files of exited processes (all dead ones, or just ``pids``) into the
    archive files; delete their gauge files. Returns the number of files removed."""
    wanted = None if pids is None else set(pids)
    with _locked(directory, exclusive=True):
        dead: dict[str, list[Path]] = {}
        gauges: list[Path] = []
        for path in directory.glob("*.db"):
            match = _FILE.match(path.name)
            if match is None:
                continue
            pid = int(match["pid"])
            if (wanted is not None and pid not in wanted) or pid == os.getpid() or _alive(pid):
                continue
            prefix = match["prefix"]
            if prefix in _ARCHIVED:
                dead.setdefault(prefix, []).append(path)
            elif prefix.startswith("gauge"):
                gauges.append(path)
        for prefix, files in dead.items():
            _fold(directory / f"{prefix}_archive.db", files)
        removed = [*gauges, *(f for files in dead.values() for f in files)]
        for path in removed:
            path.unlink(missing_ok=True)
    if removed:
        log.info("metrics: folded %d files of exited processes", len(removed))
    return len(removed)


def _fold(archive: Path, files: list[Path]) -> None:
    totals: dict[str, float] = {}
    for path in [archive, *files] if archive.exists() else files:
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            totals[key] = totals.get(key, 0.0) + value
    # Written beside it under a name the scrape's *.db glob skips, then swapped in.
    tmp = archive.with_name(archive.name + ".tmp")
    tmp.unlink(missing_ok=True)
    store = MmapedDict(str(tmp))
    try:
        for key, value in totals.items():
            store.write_value(key, value, 0.0)
    finally:
        store.close()
    os.replace(tmp, archive)


class SharedCollector(MultiProcessCollector):
    """Sums every process's files; holds the directory's lock so an exit being folded
    is seen either before or after, never twice or half."""

    def __init__(self, directory: Path) -> None:
        super().__init__(None, path=str(directory))
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        with _locked(self._directory, exclusive=False):
            return list(super().collect())


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """gunicorn ``child_exit`` hook: fold the exited web worker's metrics at once."""
    path = _configured or (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
    if path is None or not path.is_dir():
        return
    mark_process_dead(worker.pid, str(path))
    archive_dead(path, [worker.pid])


# Recording. Label values are bounded: route templates, fixed outcomes and kinds.


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def count_pushes(channel: str, outcomes: Mapping[str, int]) -> None:
    for outcome, n in outcomes.items():
        if n:
            PUSHES.labels(channel, outcome).inc(n)


def count_ledger(kind: str, points: int) -> None:
    LEDGER_OPERATIONS.labels(kind).inc()
    LEDGER_POINTS.labels(kind).inc(abs(points))
