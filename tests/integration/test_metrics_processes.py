"""Several processes (web workers, `walletpass worker`s) write metrics to one directory;
a scrape sums them, and the files of processes that exited are folded, not lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, generate_latest

from app import metrics
from tests.metrics_helpers import Samples, parse, scrape, value

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from pathlib import Path
from app import metrics
metrics.configure(Path(sys.argv[1]))
metrics.count_pushes("apns", {"accepted": int(sys.argv[2])})
metrics.observe_request("GET", "/c/<public_id>", 200, 0.02)
if sys.argv[3] == "stay":
    print("ready", flush=True)
    sys.stdin.readline()
"""
PUSHES = "walletpass_pushes_total"
LATENCY = "walletpass_http_request_duration_seconds_count"


def child(directory: Path, accepted: int, stay: bool) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(accepted), "stay" if stay else "exit"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE if stay else subprocess.DEVNULL,
        stdout=subprocess.PIPE if stay else subprocess.DEVNULL,
        text=True,
    )
    if stay:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    else:
        assert proc.wait(timeout=60) == 0
    return proc


def collect(directory: Path) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.SharedCollector(directory))
    return parse(generate_latest(registry).decode())


def test_two_processes_are_summed_and_an_exited_one_is_folded_not_lost(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    gone = child(directory, 3, stay=False)
    running = child(directory, 4, stay=True)
    try:
        totals = collect(directory)
        assert value(totals, PUSHES, channel="apns", outcome="accepted") == 7
        assert value(totals, LATENCY, method="GET", route="/c/<public_id>") == 2
        # The second process folded the first one's files when it started.
        names = {p.name for p in directory.glob("*.db")}
        archives = {"counter_archive.db", "histogram_archive.db"}
        assert names == {*archives, f"counter_{running.pid}.db", f"histogram_{running.pid}.db"}
        assert f"counter_{gone.pid}.db" not in names
        assert metrics.archive_dead(directory) == 0  # the running one's stay
        assert value(totals, PUSHES, channel="apns", outcome="accepted") == 7
        assert value(totals, LATENCY, method="GET", route="/c/<public_id>") == 2
    finally:
        running.communicate("\n", timeout=60)
    assert metrics.archive_dead(directory) == 2  # its counter and histogram files
    assert {p.name for p in directory.glob("*.db")} == archives
    totals = collect(directory)
    assert value(totals, PUSHES, channel="apns", outcome="accepted") == 7
    bucket = "walletpass_http_request_duration_seconds_bucket"
    assert value(totals, bucket, method="GET", route="/c/<public_id>", le="0.025") == 2


def test_the_web_scrape_includes_what_a_worker_process_counted(client: FlaskClient) -> None:
    directory = metrics.directory()
    assert directory is not None
    before = scrape(client)
    child(directory, 5, stay=False)
    after = scrape(client)
    grown = value(after, PUSHES, channel="apns", outcome="accepted")
    assert grown == value(before, PUSHES, channel="apns", outcome="accepted") + 5
