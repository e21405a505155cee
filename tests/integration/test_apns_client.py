"""The APNs client against the fake APNs over real TLS sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.fakes.apns import FakeApns, running_fake_apns
from app.fakes.tls import ServerCert, make_server_cert
from app.passes.apple.certs import DevChain, generate_dev_chain
from app.push.apns.client import (
    ApnsClient,
    ApnsConfig,
    ApnsSender,
    PushOutcome,
    PushResult,
)
from tests.helpers import PASS_TYPE_ID, TEAM_ID

T = TypeVar("T")
OK = PushOutcome.ACCEPTED
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")


def tokens(n: int, salt: str = "") -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevChain:
    # Real time, not the tests' fixed clock: TLS checks validity against the clock.
    out = tmp_path_factory.mktemp("apns-chain")
    return generate_dev_chain(out, PASS_TYPE_ID, TEAM_ID, now=datetime.now(UTC))


@pytest.fixture(scope="module")
def client_ca(chain: DevChain) -> Path:
    bundle = chain.root_cert.parent / "client-ca.pem"  # the leaf is sent without WWDR
    bundle.write_bytes(chain.root_cert.read_bytes() + chain.wwdr_cert.read_bytes())
    return bundle


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerCert:
    return make_server_cert(tmp_path_factory.mktemp("apns-tls"))


class Env:
    def __init__(self, chain: DevChain, client_ca: Path, tls: ServerCert) -> None:
        self.chain, self.client_ca, self.tls = chain, client_ca, tls

    def fake(self, **kw: Any) -> FakeApns:
        kw.setdefault("client_ca", self.client_ca)
        return FakeApns(server_cert=self.tls.cert, server_key=self.tls.key, **kw)

    def config(self, port: int, **kw: Any) -> ApnsConfig:
        base: dict[str, Any] = {
            "topic": PASS_TYPE_ID,
            "base_url": f"https://127.0.0.1:{port}",
            "client_cert": self.chain.pass_cert,
            "client_key": self.chain.pass_key,
            "ca_file": self.tls.ca_cert,
            "request_timeout": 5.0,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
        }
        return ApnsConfig(**(base | kw))

    def push(
        self, batch: list[str], fake_kw: dict[str, Any] | None = None, **config_kw: Any
    ) -> tuple[list[PushResult], FakeApns]:
        async def main() -> tuple[list[PushResult], FakeApns]:
            fake = self.fake(**(fake_kw or {}))
            port = await fake.start()
            try:
                async with ApnsClient(self.config(port, **config_kw)) as client:
                    return await client.send(batch), fake
            finally:
                await fake.stop()

        return run(main())


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


@pytest.fixture(scope="module")
def env(chain: DevChain, client_ca: Path, tls: ServerCert) -> Env:
    return Env(chain, client_ca, tls)


def test_pushes_carry_the_topic_and_an_empty_body(env: Env) -> None:
    batch = tokens(3)
    results, fake = env.push(batch)
    assert [r.token for r in results] == batch
    assert {(r.outcome, r.status, r.reason) for r in results} == {(OK, 200, None)}
    assert sorted(r.token for r in fake.received) == sorted(batch)
    for item in fake.received:
        h = item.headers
        assert (h[":method"], h[":path"]) == ("POST", f"/3/device/{item.token}")
        assert h["apns-topic"] == PASS_TYPE_ID
        assert (h["apns-priority"], h["apns-expiration"]) == ("5", "0")
        assert UUID.fullmatch(h["apns-id"])
        assert "apns-push-type" not in h and "apns-collapse-id" not in h
        assert item.body == b"{}"


def test_priority_expiration_and_collapse_id_are_sent(env: Env) -> None:
    async def main() -> FakeApns:
        fake = env.fake()
        port = await fake.start()
        async with ApnsClient(env.config(port)) as client:
            await client.send(tokens(1), priority=10, expiration=1893456000, collapse_id="card")
        await fake.stop()
        return fake

    h = run(main()).received[0].headers
    assert (h["apns-priority"], h["apns-expiration"], h["apns-collapse-id"]) == (
        "10",
        "1893456000",
        "card",
    )


def test_tls_handshake_refuses_a_connection_without_client_certificate(env: Env) -> None:
    async def raw_connect(port: int, with_cert: bool) -> bytes:
        """What the server sends after the HTTP/2 preface (b"" when it hangs up)."""
        ctx = ssl.create_default_context(cafile=str(env.tls.ca_cert))
        ctx.set_alpn_protocols(["h2"])
        if with_cert:
            ctx.load_cert_chain(env.chain.pass_cert, env.chain.pass_key)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
        except (ssl.SSLError, ConnectionError):
            return b""  # TLS 1.2: refused in the handshake itself
        try:
            writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            await writer.drain()
            return await reader.read(100)
        except (ssl.SSLError, ConnectionError):
            return b""  # TLS 1.3: the server's alert arrives after the client's Finished
        finally:
            writer.close()
            with contextlib.suppress(ssl.SSLError, ConnectionError):
                await writer.wait_closed()

    async def main() -> tuple[list[PushResult], FakeApns]:
        fake = env.fake()
        port = await fake.start()
        try:
            assert await raw_connect(port, with_cert=True) != b""  # SETTINGS
            assert await raw_connect(port, with_cert=False) == b""
            config = env.config(port, client_cert=None, client_key=None)
            async with ApnsClient(config) as client:
                return await client.send(tokens(5)), fake
        finally:
            await fake.stop()

    results, fake = run(main())
    # Apple answers with a TLS alert (CONFIG_ERROR); asyncio's TLS server just hangs up
    assert {(r.outcome, r.status) for r in results} == {(PushOutcome.FAILED, None)}
    assert "client certificate refused?" in (results[0].reason or "")
    assert fake.received == []


def test_apple_errors_map_to_outcomes(env: Env) -> None:
    dead, bad, foreign, ours_wrong, fine = tokens(5, "e")
    answers = {foreign: (400, "DeviceTokenNotForTopic"), ours_wrong: (400, "BadExpirationDate")}
    fake_kw = {"dead_tokens": {dead}, "bad_tokens": {bad}, "answers": answers}
    results, fake = env.push([dead, bad, foreign, ours_wrong, fine, "not-hex"], fake_kw)
    got = {r.token: r for r in results}
    assert got[dead] == PushResult(
        dead, PushOutcome.UNREGISTERED, 410, "Unregistered", fake.dead_since_ms
    )
    assert got[bad] == PushResult(bad, PushOutcome.BAD_TOKEN, 400, "BadDeviceToken", None)
    assert got[foreign].outcome is PushOutcome.BAD_TOKEN
    assert got[ours_wrong] == PushResult(
        ours_wrong, PushOutcome.REJECTED, 400, "BadExpirationDate", None
    )
    assert got[fine].outcome is OK
    assert got["not-hex"] == PushResult(
        "not-hex", PushOutcome.BAD_TOKEN, None, "BadDeviceToken", None
    )
    assert len(fake.received) == 5  # each once (no retries) and never the malformed token


def test_wrong_topic_is_a_config_error(env: Env) -> None:
    results, fake = env.push(tokens(20), topic="pass.other.topic", connections=1, max_streams=1)
    assert results[0] == PushResult(
        results[0].token, PushOutcome.CONFIG_ERROR, 400, "TopicDisallowed", None
    )
    assert {r.outcome for r in results} == {PushOutcome.CONFIG_ERROR}
    assert len(fake.received) == 1


def test_403_stops_the_rest_of_the_batch(env: Env) -> None:
    batch = tokens(50, "403")
    fake_kw = {"answers": {batch[3]: (403, "BadCertificateEnvironment")}}
    results, fake = env.push(batch, fake_kw, connections=1, max_streams=1)
    assert [r.outcome for r in results[:3]] == [OK] * 3
    assert (results[3].status, results[3].reason) == (403, "BadCertificateEnvironment")
    assert {r.outcome for r in results[3:]} == {PushOutcome.CONFIG_ERROR}
    assert {r.status for r in results[4:]} == {None}
    assert len(fake.received) == 4


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_failures_are_retried(env: Env, status: int) -> None:
    batch = tokens(300, str(status))
    fake_kw = {"fail_ratio": 0.3, "fail_status": status, "seed": 7}
    results, fake = env.push(batch, fake_kw, max_attempts=10)
    assert [r.outcome for r in results] == [OK] * len(batch)
    assert sum(1 for r in fake.received if r.status == status) > 30
    assert Counter(r.token for r in fake.received if r.status == 200) == dict.fromkeys(batch, 1)


def test_a_server_that_always_fails_gives_failed_after_max_attempts(env: Env) -> None:
    batch = tokens(20, "down")
    results, fake = env.push(batch, {"fail_ratio": 1.0}, max_attempts=3)
    assert {(r.outcome, r.status, r.reason) for r in results} == {
        (PushOutcome.FAILED, 500, "InternalServerError")
    }
    assert Counter(r.token for r in fake.received) == dict.fromkeys(batch, 3)


@pytest.mark.parametrize("latency", [0.0, 0.01])
def test_goaway_mid_burst_resends_only_unprocessed_pushes(env: Env, latency: float) -> None:
    batch = tokens(2000 if not latency else 400, "goaway")
    results, fake = env.push(batch, {"goaway_after": 50, "latency": latency})
    assert [r.outcome for r in results] == [OK] * len(batch)
    # refused streams are not processed (not recorded); none was processed twice
    assert Counter(r.token for r in fake.received) == dict.fromkeys(batch, 1)
    assert fake.connections >= len(batch) // 50


def test_pushes_in_flight_on_a_lost_connection_are_retried(env: Env) -> None:
    batch = tokens(1000, "drop")
    fake_kw = {"drop_after": 150, "latency": 0.002}
    results, fake = env.push(batch, fake_kw, max_attempts=10)
    assert [r.outcome for r in results] == [OK] * len(batch)
    assert set(batch) <= {r.token for r in fake.received if r.status == 200}
    assert fake.connections > 4
    assert fake.requests > len(fake.received)  # some were read, never answered, sent again


def test_dead_token_storm_does_not_stall(env: Env) -> None:
    batch = tokens(20_000, "storm")
    started = time.perf_counter()
    results, fake = env.push(batch, {"dead_ratio": 0.3})
    elapsed = time.perf_counter() - started
    outcomes = Counter(r.outcome for r in results)
    dead = sum(fake.is_dead(t) for t in batch)
    assert 5000 < dead < 7000
    assert outcomes == {PushOutcome.UNREGISTERED: dead, OK: len(batch) - dead}
    print(f"\n{len(batch)} pushes, {dead} dead: {len(batch) / elapsed:.0f}/s (client + fake)")


def test_never_opens_more_streams_than_the_server_allows(env: Env) -> None:
    batch = tokens(300, "mcs")
    fake_kw = {"max_concurrent_streams": 5, "latency": 0.01}
    results, fake = env.push(batch, fake_kw, connections=2)
    assert [r.outcome for r in results] == [OK] * len(batch)
    assert fake.max_open_streams == 5
    assert fake.connections == 2


def test_the_client_keeps_no_memory_per_push(env: Env) -> None:
    """A worker sends a campaign of a million pushes over the same few connections: what
    the client holds for them (h2's record of closed streams) stays bounded."""

    async def main() -> list[int]:
        fake = env.fake(record=False)
        port = await fake.start()
        held: list[int] = []
        try:
            async with ApnsClient(env.config(port, connections=1)) as client:
                tracemalloc.start(6)
                try:
                    for i in range(8):
                        await client.send(tokens(500, f"mem{i}"))
                        if i in (3, 7):  # once h2's memory of closed streams is full
                            gc.collect()
                            ours = tracemalloc.Filter(True, "*/app/push/apns/*", all_frames=True)
                            snap = tracemalloc.take_snapshot().filter_traces([ours])
                            held.append(sum(s.size for s in snap.statistics("filename")))
                finally:
                    tracemalloc.stop()
        finally:
            await fake.stop()
        return held

    after_2000, after_4000 = run(main())
    # h2's default memory of 65 536 closed streams a connection held ~100 bytes a push.
    assert after_4000 - after_2000 < 32 * 1024, (after_2000, after_4000)


def test_requests_time_out(env: Env) -> None:
    started = time.monotonic()
    results, fake = env.push(
        tokens(10), {"latency": 1.0}, request_timeout=0.2, max_attempts=3, connections=1
    )
    assert {(r.outcome, r.status, r.reason) for r in results} == {
        (PushOutcome.FAILED, None, "no answer in 0.2s")
    }
    assert fake.connections == 1  # the server answers PINGs: slow, not dead
    assert time.monotonic() - started < 3


def test_a_silent_connection_is_dropped_and_replaced(env: Env) -> None:
    async def main() -> tuple[list[PushResult], list[PushResult], FakeApns]:
        fake = env.fake()
        port = await fake.start()
        try:
            config = env.config(port, request_timeout=0.2, max_attempts=3, connections=1)
            async with ApnsClient(config) as client:
                first = await client.send(tokens(3))
                fake.frozen = True  # the socket stays open, nothing comes back
                return first, await client.send(tokens(3, "frozen")), fake
        finally:
            await fake.stop()

    first, second, fake = run(main())
    assert {r.outcome for r in first} == {OK}
    assert {r.outcome for r in second} == {PushOutcome.FAILED}
    assert fake.connections >= 2  # unanswered PING: dropped, reconnected


def _p8(tmp_path: Path) -> tuple[Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "AuthKey_TESTKEY123.p8"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def test_token_auth_sends_a_reused_jwt_and_refreshes_it_when_expired(
    env: Env, tmp_path: Path
) -> None:
    key_file, key = _p8(tmp_path)
    config_kw: dict[str, Any] = {
        "auth": "token",
        "key_file": key_file,
        "key_id": "TESTKEY123",
        "team_id": TEAM_ID,
        "client_cert": None,
        "client_key": None,
    }

    async def main() -> tuple[list[PushResult], list[PushResult], FakeApns]:
        fake = env.fake(client_ca=None, topic=PASS_TYPE_ID, token_key=key.public_key())
        port = await fake.start()
        try:
            async with ApnsClient(env.config(port, **config_kw)) as client:
                first = await client.send(tokens(20, "jwt"))
                fake.expire_provider_tokens()
                return first, await client.send(tokens(20, "jwt2")), fake
        finally:
            await fake.stop()

    first, second, fake = run(main())
    assert {r.outcome for r in first + second} == {OK}
    jwts = {r.headers["authorization"] for r in fake.received}
    assert len(jwts) == 2  # one per team, replaced once after ExpiredProviderToken
    assert {r.status for r in fake.received} == {200, 403}
    token = next(iter(jwts)).removeprefix("bearer ")
    assert jwt.get_unverified_header(token)["kid"] == "TESTKEY123"
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == TEAM_ID and abs(claims["iat"] - time.time()) < 60

    async def wrong_key() -> list[PushResult]:
        fake = env.fake(
            client_ca=None, token_key=ec.generate_private_key(ec.SECP256R1()).public_key()
        )
        port = await fake.start()
        try:
            async with ApnsClient(env.config(port, **config_kw)) as client:
                return await client.send(tokens(5))
        finally:
            await fake.stop()

    assert {(r.outcome, r.reason) for r in run(wrong_key())} == {
        (PushOutcome.CONFIG_ERROR, "InvalidProviderToken")
    }


def test_sync_sender_from_a_plain_thread(env: Env) -> None:
    before = threading.active_count()
    with running_fake_apns(
        server_cert=env.tls.cert, server_key=env.tls.key, client_ca=env.client_ca
    ) as fake:
        sender = ApnsSender(env.config(fake.port))
        out: dict[str, list[PushResult]] = {}

        def work(name: str) -> None:
            out[name] = sender.send(tokens(100, name), priority=10)

        workers = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        sender.close()
        sender.close()  # idempotent
        assert {r.outcome for r in out["a"] + out["b"]} == {OK}
        assert len(fake.received) == 200
        with pytest.raises(RuntimeError):
            sender.send(tokens(1))
        with ApnsSender(env.config(fake.port)) as other:
            assert other.send([]) == []
    assert threading.active_count() == before


def test_fake_apns_command(env: Env) -> None:
    script = "from app.cli.fake_apns import fake_apns; fake_apns()"
    ca_args = ["--client-ca", str(env.chain.root_cert), "--client-ca", str(env.chain.wwdr_cert)]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--port", "0", *ca_args, "-v"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        lines = []
        while not lines or "listening on" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"fake-apns exited: {lines}"
            lines.append(line)
        ca_file = Path(next(ln.split()[-1] for ln in lines if "certificate CA" in ln))
        port = int(lines[-1].rsplit(":", 1)[1])
        sender = ApnsSender(env.config(port, ca_file=ca_file))
        try:
            assert {r.outcome for r in sender.send(tokens(2))} == {OK}
        finally:
            sender.close()
        assert proc.stdout.readline().startswith("200 ")
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=10)[0]
        assert "2 requests on 1 connections" in rest
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
