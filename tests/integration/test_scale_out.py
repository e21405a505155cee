"""Scaled out as docs/deployment.md describes: nginx with TLS in front of two
`walletpass serve` processes, two `walletpass worker` processes, PostgreSQL and Redis.

A shopper enrolls (the per-address limit holds across both web processes), downloads
the pass, three iPhones register it at once, the till records a purchase; then a
campaign goes to 1 000 registered cards and the worker pushing it is killed with
SIGKILL half-way (and restarted, as systemd does). Nothing may be lost (every device
pushed, every changed pass fetched through nginx) and nothing counted twice (install
bonus, campaign bonus, push counters).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from huey import Huey
from sqlalchemy import exists, func, select

from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget
from app.fakes.apns import FakeApns, running_fake_apns
from app.fakes.tls import ServerCert, make_server_cert
from app.loyalty.models import LedgerEntry, Program
from app.passes.apple.certs import DevChain
from app.passes.models import AppleRegistration, WalletPass
from app.push.models import PushCounter
from app.queue import make_huey
from app.services import staff
from app.services.programs import seed_demo
from app.simulate.population import registered_passes
from tests.deployment import nginx_site
from tests.helpers import PASS_TYPE_ID, TEAM_ID, Pkpass, redis_url, require

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
CARDS = 1000
SAMPLE = 40  # bulk cards whose pass is fetched through nginx before and after
OFFER_RU = "Минус 20 % до воскресенья"
KILL_AFTER = 200  # campaign pushes seen from one worker before it is killed
RESTART_SEC = 2  # systemd's RestartSec in docs/deployment.md; also the sweep age here
CLAIM = "walletpass-scale-out-test"  # marks the Redis database this run uses
ENROLL_LIMIT = 6  # per client address and hour, for all web processes together


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], object], timeout: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            said = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {said}")
        time.sleep(0.05)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Cluster:
    tmp: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: list[str], **env: str) -> Process:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:  # the child keeps its own descriptor
            popen = subprocess.Popen(
                argv, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def walletpass(self, name: str, *args: str, instance: str | None = None) -> Process:
        # Each process its own instance folder, as on separate machines.
        folder = str(self.tmp / (instance or name))
        argv = [sys.executable, "-m", "app.cli", *args]
        return self.start(name, argv, WALLETPASS_INSTANCE_DIR=folder)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in self.processes)


def nginx_conf(tmp: Path, site: str) -> Path:
    """A minimal main configuration around the documented site, for a scratch prefix."""
    (tmp / "site.conf").write_text(site)
    temp = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the temp dirs
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 2;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'nginx-error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n{temp}    default_type application/octet-stream;\n"
        f"    include {tmp / 'site.conf'};\n}}\n"
    )
    return conf


def pid_using_port(port: int, pids: list[int]) -> int | None:
    """Which of these processes owns the TCP socket with this local port (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    return None


# --- HTTPS through nginx ---------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Https:
    def __init__(self, base: str, ca: Path) -> None:
        self.base = base
        self.context = ssl.create_default_context(cafile=str(ca))

    def call(
        self, method: str, url: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url if url.startswith("https://") else self.base + url,
            data=data,
            method=method,
            headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Answer(exc.code, dict(exc.headers), exc.read())


# --- the deployment --------------------------------------------------------------------


def private_redis_db(base: str) -> str:
    """An empty Redis database of this test's own: the queue's name is fixed, so workers
    of another test run on the same Redis database would take this run's tasks."""
    import redis

    taken = redis.Redis.from_url(base).connection_pool.connection_kwargs.get("db", 0)
    for db in range(1, 16):
        url = f"{base.rsplit('/', 1)[0]}/{db}"
        client = redis.Redis.from_url(url)
        if db != taken and client.dbsize() == 0 and client.set(CLAIM, os.getpid(), nx=True):
            client.expire(CLAIM, 900)  # a crashed run frees it eventually
            return url
    raise AssertionError(f"no empty Redis database left beside {base}")


@dataclass
class Deployment:
    https: Https
    services: Services  # the test's own view of the same database
    apns: FakeApns
    cluster: Cluster
    serve: list[Process]
    workers: list[Process]
    terminal_key: str
    queue: Huey  # the Redis queue the workers share


@contextmanager
def deployment(tmp: Path, pg_services: Services, dev_chain: DevChain) -> Iterator[Deployment]:
    # Debian puts nginx in /usr/sbin, outside a normal user's PATH.
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    require("nginx", nginx, "apt-get install nginx")
    assert nginx is not None
    queue_url = private_redis_db(redis_url())
    with pg_services.transaction() as session:
        program = seed_demo(session, pg_services.clock)
        program.quiet_start_hour = program.quiet_end_hour = 0  # campaigns start at once
    web_tls: ServerCert = make_server_cert(tmp / "web-tls")
    apns_tls: ServerCert = make_server_cert(tmp / "apns-tls")
    https_port, ports = free_port(), [free_port(), free_port()]
    base = f"https://127.0.0.1:{https_port}"
    with ExitStack() as stack:
        queue = make_huey(queue_url, tmp)
        stack.callback(queue.storage.conn.flushdb)  # last, the claim too
        apns = stack.enter_context(
            running_fake_apns(
                server_cert=apns_tls.cert,
                server_key=apns_tls.key,
                client_ca=dev_chain.root_cert,
                topic=PASS_TYPE_ID,
                latency=0.02,  # ~500 pushes a second per connection: time to kill mid-way
                max_concurrent_streams=10,
            )
        )
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("WALLETPASS_")}
        cluster = Cluster(
            tmp,
            {
                **inherited,
                "PYTHONPATH": str(REPO),
                "WALLETPASS_ENV": "test",
                "WALLETPASS_DATABASE_URL": pg_services.settings.database_url,
                "WALLETPASS_QUEUE_URL": queue_url,
                "WALLETPASS_PUBLIC_URL": base,
                "WALLETPASS_SECRET_KEY": "scale-out-secret-" + "s" * 32,
                "WALLETPASS_TRUSTED_PROXIES": "1",
                "WALLETPASS_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
                "WALLETPASS_APPLE_TEAM_ID": TEAM_ID,
                "WALLETPASS_APPLE_CERT": str(dev_chain.pass_p12),
                "WALLETPASS_APPLE_WWDR_CERT": str(dev_chain.wwdr_cert),
                "WALLETPASS_APNS_URL": f"https://127.0.0.1:{apns.port}",
                "WALLETPASS_APNS_CA_FILE": str(apns_tls.ca_cert),
                "WALLETPASS_APNS_CONNECTIONS": "1",
                "WALLETPASS_SWEEP_AFTER_SECONDS": str(RESTART_SEC),
                "WALLETPASS_ENROLL_RATE_LIMIT": f"{ENROLL_LIMIT}/hour",
            },
        )
        stack.callback(lambda: [p.stop() for p in reversed(cluster.processes)])
        serve_args = ["serve", "--host", "127.0.0.1", "--workers", "2", "--threads", "4"]
        serve = [
            cluster.walletpass(f"serve{i}", *serve_args, "--port", str(port))
            for i, port in enumerate(ports, 1)
        ]
        workers = [cluster.walletpass(f"worker{i}", "worker", "--threads", "2") for i in (1, 2)]
        terminal = cluster.walletpass(
            "terminals", "terminals", "add", "--program", "demo", "--name", "Till 1"
        )
        site = nginx_site(
            https_port=https_port,
            http_port=free_port(),
            upstreams=ports,
            cert=web_tls.cert,
            key=web_tls.key,
        )
        conf = nginx_conf(tmp, site)
        nginx_process = cluster.start(
            "nginx",
            [nginx, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf),
             "-g", "daemon off;"],
        )  # fmt: skip
        stack.callback(nginx_process.stop, signal.SIGQUIT)
        https = Https(base, web_tls.ca_cert)

        def up(url: str) -> bool:
            try:
                return https.call("GET", url).status == 200
            except OSError:
                return False

        def logs() -> str:
            return "the processes:\n" + cluster.logs()

        for port in ports:
            wait_until(lambda p=port: _plain_ok(f"http://127.0.0.1:{p}/healthz"), 60, logs)  # type: ignore[misc]
        wait_until(lambda: up("/healthz"), 30, logs)
        wait_until(lambda: all("consumer started" in w.text() for w in workers), 60, logs)
        assert terminal.popen.wait(timeout=60) == 0, terminal.text()
        key = terminal.text().strip().splitlines()[-1]
        yield Deployment(https, pg_services, apns, cluster, serve, workers, key, queue)


def _plain_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# --- the journey -----------------------------------------------------------------------


def owed(services: Services) -> int:
    """Passes changed since their registered devices were last pushed."""
    registered = exists().where(AppleRegistration.pass_id == WalletPass.id)
    with services.transaction(write=False) as session:
        stmt = select(func.count()).where(
            WalletPass.version > WalletPass.apns_delivered_version, registered
        )
        return int(session.scalar(stmt) or 0)


def settled(apns: FakeApns, queue: Huey) -> Callable[[], bool]:
    """True once the queue is empty and APNs heard nothing for a second: two sweeps may
    have sent the same owed passes at once (at-least-once), and both get recorded."""
    last = [apns.requests, time.monotonic()]

    def check() -> bool:
        if apns.requests != last[0] or queue.pending_count():
            last[:] = [apns.requests, time.monotonic()]
            return False
        return time.monotonic() - last[1] > 1.0

    return check


def received_ok(apns: FakeApns, since: int = 0) -> Counter[str]:
    """200 answers per device token, from the ``since``-th recorded push on."""
    return Counter(r.token for r in list(apns.received)[since:] if r.status == 200)


def apple_auth(token: str) -> dict[str, str]:
    return {"Authorization": f"ApplePass {token}"}


def test_two_serve_and_two_workers_behind_nginx_lose_nothing_and_count_nothing_twice(
    tmp_path: Path, pg_services: Services, dev_chain: DevChain
) -> None:
    started = time.monotonic()
    with deployment(tmp_path, pg_services, dev_chain) as d:
        try:
            journey_and_campaign(d)
        except BaseException:
            print(d.cluster.logs())  # shown by pytest on failure
            raise
    assert time.monotonic() - started < 150


def journey_and_campaign(d: Deployment) -> None:
    https, services, apns = d.https, d.services, d.apns

    # Enrollment (JSON API) and the pass, over HTTPS through nginx.
    enrolled = https.call(
        "POST",
        "/api/v1/programs/demo/enrollments",
        {"name": "Anna", "phone": "+7 900 123-45-67", "birthday": "1990-05-02",
         "locale": "ru", "consent": True},
    )  # fmt: skip
    assert enrolled.status == 201, enrolled.body
    card = enrolled.json["card"]
    download = https.call("GET", enrolled.json["links"]["apple_pass"])
    assert download.status == 200
    pass_json = Pkpass.read(download.body).pass_json
    serial, auth = pass_json["serialNumber"], pass_json["authenticationToken"]
    web_service = pass_json["webServiceURL"]
    assert web_service == f"{https.base}/passkit"

    # One limit for both serve processes (and their gunicorn workers): round-robin
    # through nginx, the address limit still allows ENROLL_LIMIT in all.
    more = [
        https.call(
            "POST",
            "/api/v1/programs/demo/enrollments",
            {"name": f"Shopper {i}", "phone": f"+7 900 555-01-{i:02d}", "consent": True},
        ).status
        for i in range(ENROLL_LIMIT + 3)
    ]
    assert more == [201] * (ENROLL_LIMIT - 1) + [429] * 4, more

    # Three iPhones register the pass at the same moment (both serve processes answer).
    phones = [(f"iphone-{i}", f"{0xA0 + i:02x}" * 32) for i in range(3)]

    def register(phone: tuple[str, str]) -> int:
        url = f"{web_service}/v1/devices/{phone[0]}/registrations/{PASS_TYPE_ID}/{serial}"
        return https.call("POST", url, {"pushToken": phone[1]}, apple_auth(auth)).status

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(register, phones)) == [201, 201, 201]
    assert register(phones[0]) == 200  # again: already registered

    # The install bonus changed the pass: pushed to the phones registered by then (a
    # phone that registers later fetches the pass itself).
    wait_until(lambda: owed(services) == 0, 60, "the install push")
    latest = f"{web_service}/v1/passes/{PASS_TYPE_ID}/{serial}"
    installed = https.call("GET", latest, headers=apple_auth(auth))
    assert installed.status == 200
    pushes_so_far = len(apns.received)

    # A purchase at the till (POS API), sent twice as a till retry would.
    sale = {"receipt_id": "R-1", "amount": 150_000, "barcode": card["barcode"]}
    till = {"Authorization": f"Bearer {d.terminal_key}"}
    first = https.call("POST", "/api/pos/v1/purchases", sale, till)
    again = https.call("POST", "/api/pos/v1/purchases", sale, till)
    assert (first.status, again.status) == (201, 200), first.body
    assert again.json == first.json
    wait_until(lambda: owed(services) == 0, 60, "the purchase push")
    assert set(received_ok(apns, pushes_so_far)) == {token for _, token in phones}

    # The phone asks what changed and fetches the pass: the purchase shows.
    devices = f"{web_service}/v1/devices/{phones[0][0]}/registrations/{PASS_TYPE_ID}"
    listed = https.call("GET", devices)
    assert listed.status == 200 and listed.json["serialNumbers"] == [serial]
    since = {"If-Modified-Since": installed.headers["Last-Modified"]}
    fetched = https.call("GET", latest, headers={**apple_auth(auth), **since})
    assert fetched.status == 200
    shown = json.dumps(Pkpass.read(fetched.body).pass_json)
    assert f'"value": {first.json["balance"]}' in shown, shown

    # 1 000 more registered cards "at risk", and a sample of their passes as phones hold them.
    tokens = [f"{i:064x}" for i in range(1, CARDS + 1)]
    with services.transaction() as session:
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        assert program is not None
        pass_ids = registered_passes(session, program, tokens, datetime.now(UTC), stage="at_risk")
        marketer = staff.add_user(
            session,
            services.clock,
            email="crm@example.com",
            name="CRM",
            role="marketer",
            password="a long enough passphrase",
            actor="test",
            programs=[program],
        )
        session.flush()
        crm_token = staff.create_api_token(session, services.clock, marketer, "crm")
        crm = {"Authorization": f"Bearer {crm_token}"}
        sample = [
            (wp.serial_number, wp.auth_token)
            for wp in session.scalars(
                select(WalletPass).where(WalletPass.id.in_(pass_ids[:: CARDS // SAMPLE]))
            )
        ]
    before = {}
    for sample_serial, sample_auth in sample:
        url = f"{web_service}/v1/passes/{PASS_TYPE_ID}/{sample_serial}"
        held = https.call("GET", url, headers=apple_auth(sample_auth))
        assert held.status == 200
        before[sample_serial] = held.headers["Last-Modified"]
        unchanged = https.call(
            "GET",
            url,
            headers={**apple_auth(sample_auth), "If-Modified-Since": before[sample_serial]},
        )
        assert unchanged.status == 304

    # The campaign, through the CRM API; the worker pushing it is killed half-way.
    size = https.call(
        "POST", "/api/v1/programs/demo/segments/size", {"segment": {"stages": ["at_risk"]}}, crm
    )
    assert size.json == {"size": CARDS}
    mark = len(apns.received)
    counts_before = dict(apns.requests_by_client)
    launched = https.call(
        "POST",
        "/api/v1/programs/demo/campaigns",
        {"name": "Come back", "offer_en": "-20 % until Sunday", "offer_ru": OFFER_RU,
         "segment": {"stages": ["at_risk"]}, "holdout_percent": 0, "bonus_points": 100},
        crm,
    )  # fmt: skip
    assert launched.status == 201, launched.body
    campaign_id = launched.json["id"]

    def busy_client() -> int | None:
        for port, n in dict(apns.requests_by_client).items():
            if n - counts_before.get(port, 0) >= KILL_AFTER:
                return port
        return None

    wait_until(busy_client, 60, "the campaign's pushes")
    port = busy_client()
    assert port is not None
    pid = pid_using_port(port, [w.popen.pid for w in d.workers])
    assert pid is not None, "no worker holds the APNs connection that pushes the campaign"
    killed = next(w for w in d.workers if w.popen.pid == pid)
    os.kill(pid, signal.SIGKILL)
    killed.popen.wait(timeout=10)
    assert owed(services) > 0  # killed mid-campaign: its pushes were never recorded

    # systemd restarts it (Restart=always, RestartSec=2); the new process's start-up sweep
    # hands what the dead one owed to the queue, and either worker delivers it. (Without a
    # restart the other worker's minute sweeper would, up to a minute later.)
    time.sleep(RESTART_SEC)
    d.workers.append(
        d.cluster.walletpass(
            f"{killed.name}-restarted", "worker", "--threads", "2", instance=killed.name
        )
    )

    def done() -> bool:
        with services.transaction(write=False) as session:
            status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        return status == "sent" and owed(services) == 0

    wait_until(done, 90, "the workers to deliver everything owed")
    wait_until(settled(apns, d.queue), 30, "the workers to finish")

    # Nothing lost: every device pushed after the campaign started.
    pushed = received_ok(apns, mark)
    assert set(tokens) <= set(pushed)
    everything = received_ok(apns)

    with services.transaction(write=False) as session:
        # No bonus paid twice: one install bonus, one campaign bonus per card.
        card_id = session.scalar(
            select(LedgerEntry.card_id).where(LedgerEntry.reference == "install")
        )
        installs = session.scalar(select(func.count()).where(LedgerEntry.reference == "install"))
        assert installs == 1 and card_id is not None
        per_card = Counter(
            session.scalars(
                select(LedgerEntry.card_id).where(
                    LedgerEntry.reference == f"campaign:{campaign_id}"
                )
            )
        )
        assert len(per_card) == CARDS and set(per_card.values()) == {1}
        # No push counted twice: no counter exceeds the pushes APNs answered 200.
        accepted = session.scalar(
            select(func.sum(PushCounter.count)).where(
                PushCounter.channel == "apns", PushCounter.outcome == "accepted"
            )
        )
        assert accepted is not None and CARDS <= accepted <= sum(everything.values())
        target_counts = session.execute(
            select(WalletPass.id, CampaignTarget.pushes_accepted)
            .join(WalletPass, WalletPass.card_id == CampaignTarget.card_id)
            .where(CampaignTarget.campaign_id == campaign_id)
        ).all()
    by_pass = dict(zip(pass_ids, tokens, strict=True))
    assert len(target_counts) == CARDS
    for wallet_pass_id, counted in target_counts:
        assert 1 <= counted <= pushed[by_pass[wallet_pass_id]], (wallet_pass_id, counted)

    # `walletpass push stats` tells the operator the same.
    stats = subprocess.run(
        [sys.executable, "-m", "app.cli", "push", "stats"],
        env={**d.cluster.env, "WALLETPASS_INSTANCE_DIR": str(d.cluster.tmp / "stats")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "passes owed to devices: 0" in stats
    assert f"accepted {accepted}" in stats

    # Phones fetch the changed pass through nginx: the offer shows.
    for sample_serial, sample_auth in sample:
        url = f"{web_service}/v1/passes/{PASS_TYPE_ID}/{sample_serial}"
        headers = {**apple_auth(sample_auth), "If-Modified-Since": before[sample_serial]}
        changed = https.call("GET", url, headers=headers)
        assert changed.status == 200, sample_serial
        bundle = Pkpass.read(changed.body)
        assert any(OFFER_RU in text.decode("utf-8", "replace") for text in bundle.files.values())

    # Both web processes took requests (nginx spread them round-robin).
    for process in d.serve:
        assert len(re.findall(r"\b(GET|POST) /", process.text())) > 5, process.name
