"""PassKit web service throughput against a bare Flask endpoint on the same server.

Usage: .venv/bin/python bench/passkit.py [--seconds 5] [--rounds 3]

Starts the service under gunicorn (one process, one thread, pinned to one core) on
the embedded SQLite default, with one extra route that returns "ok" from Flask and
touches nothing else. wrk (Debian package `wrk`, pinned to the other core) then
measures, in interleaved rounds:
  bare       GET /bench/bare                       (the ceiling: Flask + gunicorn)
  304        GET /passkit/v1/passes/...  + If-Modified-Since  (phones checking a pass)
  pass 200   GET /passkit/v1/passes/...  with an older If-Modified-Since (the fetch every
             phone makes after a push: the whole signed pass; round-robin over the cards),
             each pass signed ahead as the worker does just before it pushes
  pass 200 live  the same fetch of versions nobody signed ahead (rendered and signed in
             the request: a phone that was offline for longer than a day, say)
  register   POST /passkit/v1/devices/.../registrations/...   (new device each time)
  re-register  the same registrations again (Wallet retries / storms)
and prints requests/s with the ratio to bare (target: 304 path >= 60 %) and the ratio of
pass 200 to 304 (target >= 50 %).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from common import bench_env, serve_app, start_server, tree_cpu_seconds, wrk

PORT = 8765
N_CARDS = 300


def prepare(root: Path) -> dict[str, object]:
    """Migrate, seed and enroll cards; returns what the load generator needs."""
    os.environ.update(bench_env(root))
    from sqlalchemy import select

    from app.bootstrap import build_services, upgrade_database
    from app.passes.models import WalletPass
    from app.services import enrollment
    from app.services.programs import seed_demo
    from app.settings import Settings

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    services = build_services(settings)
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        for i in range(N_CARDS):
            form = enrollment.EnrollmentForm(name=f"Bench {i}", phone=f"+7900{i:07d}", consent=True)
            data = enrollment.validate(form, program, services.clock.now().date())
            enrollment.enroll(session, services.clock, program, data)
    with services.transaction(write=False) as session:
        rows = session.execute(
            select(WalletPass.serial_number, WalletPass.auth_token, WalletPass.last_modified)
        ).all()
    services.close()
    sign_ahead(root)
    return {
        "pass_type_id": settings.apple.pass_type_id,
        "passes": [[s, t] for s, t, _ in rows],
        "last_modified": max(lm for _, _, lm in rows),
    }


def sign_ahead(root: Path, forget: bool = False) -> None:
    """What the worker does with the passes it is about to push (or, with ``forget``,
    drops every pass signed ahead)."""
    from sqlalchemy import delete, select

    from app.bootstrap import build_services
    from app.passes.models import PassRendering, WalletPass
    from app.services import pass_renderings
    from app.settings import Settings

    os.environ.update(bench_env(root))
    services = build_services(Settings.from_env())
    try:
        if forget:
            with services.transaction() as session:
                session.execute(delete(PassRendering))
            return
        with services.transaction(write=False) as session:
            ids = list(session.scalars(select(WalletPass.id)))
            made = pass_renderings.signed(session, services.pkpass, services.templates, ids)
        with services.transaction() as session:
            pass_renderings.store(
                session, services.clock.now(), services.pkpass.signer_fingerprint, made
            )
    finally:
        services.close()


LUA_FETCH = """
local passes = {PASSES}
local n = 0
request = function()
  n = n + 1
  local p = passes[(n % #passes) + 1]
  return wrk.format("GET", "/passkit/v1/passes/{PTID}/" .. p[1],
    {["Authorization"] = "ApplePass " .. p[2], ["If-Modified-Since"] = "{OLDER}"})
end
"""

LUA_REGISTER = """
local passes = {PASSES}
local n = 0
local run = "{RUN}"
request = function()
  n = n + 1
  local p = passes[(n % #passes) + 1]
  local device = string.format("%s%06d", run, {DEVICE_EXPR})
  local path = "/passkit/v1/devices/" .. device .. "/registrations/{PTID}/" .. p[1]
  return wrk.format("POST", path,
    {["Authorization"] = "ApplePass " .. p[2], ["Content-Type"] = "application/json"},
    '{"pushToken": "' .. device .. 'aa"}')
end
"""


def rate(
    server: int,
    cpu_ms: list[float],
    url: str,
    seconds: float,
    script: Path | None = None,
    headers: tuple[str, ...] = (),
) -> float:
    """Requests/s of a wrk run; appends the server's CPU milliseconds per request (its
    processes' own user + system time, which other jobs on the machine do not inflate)."""
    before = tree_cpu_seconds(server)
    result = wrk(url, seconds, script=script, headers=headers, cpus="1")
    cpu_ms.append((tree_cpu_seconds(server) - before) * 1000 / max(result.requests, 1))
    if result.errors:
        raise SystemExit(f"{result.errors} error responses during a run of {url}")
    return result.requests_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    port = args.port
    if args.serve:
        os.environ.update(bench_env(args.serve))
        serve_app(workers=1, threads=1, port=port)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        info = prepare(root)
        server = start_server(
            __file__, ["--serve", str(root), "--port", str(port)], bench_env(root), port, cpus="0"
        )
        try:
            base = f"http://127.0.0.1:{port}"
            passes = info["passes"]
            assert isinstance(passes, list)
            # The 304 path uses a pass the registration rounds never touch: an install
            # changes the pass (bonus), after which the check would return 200.
            serial, token = passes[0]
            passes = passes[1:]
            ptid = info["pass_type_id"]
            from werkzeug.http import http_date

            ims = http_date(int(str(info["last_modified"])))
            lua_passes = "{" + ",".join(f'{{"{s}","{t}"}}' for s, t in passes) + "}"
            results: dict[str, list[float]] = {
                "bare": [],
                "304": [],
                "pass 200": [],
                "pass 200 live": [],
                "register": [],
                "re-register": [],
            }
            cpu: dict[str, list[float]] = {name: [] for name in results}
            check = urllib.request.Request(  # noqa: S310 - our own loopback server
                f"{base}/passkit/v1/passes/{ptid}/{serial}",
                headers={"Authorization": f"ApplePass {token}", "If-Modified-Since": ims},
            )
            for r in range(args.rounds):
                results["bare"].append(
                    rate(server.pid, cpu["bare"], f"{base}/bench/bare", args.seconds)
                )
                try:
                    urllib.request.urlopen(check)  # noqa: S310
                    raise SystemExit("the 304 path answered 200: the benchmark is broken")
                except urllib.error.HTTPError as exc:
                    assert exc.code == 304, exc.code
                results["304"].append(
                    rate(
                        server.pid,
                        cpu["304"],
                        f"{base}/passkit/v1/passes/{ptid}/{serial}",
                        args.seconds,
                        headers=(f"Authorization: ApplePass {token}", f"If-Modified-Since: {ims}"),
                    )
                )
                # Fetched before the registration rounds of this round change them.
                fetch = root / "fetch.lua"
                fetch.write_text(
                    LUA_FETCH.replace("{PASSES}", lua_passes)
                    .replace("{PTID}", str(ptid))
                    .replace("{OLDER}", http_date(0))
                )
                sign_ahead(root)  # the registration rounds changed passes since
                results["pass 200"].append(
                    rate(server.pid, cpu["pass 200"], f"{base}/", args.seconds, fetch)
                )
                sign_ahead(root, forget=True)
                results["pass 200 live"].append(
                    rate(server.pid, cpu["pass 200 live"], f"{base}/", args.seconds, fetch)
                )
                for name, device_expr in (("register", "n"), ("re-register", "n % 500")):
                    script = root / f"{name}.lua"
                    script.write_text(
                        LUA_REGISTER.replace("{PASSES}", lua_passes)
                        .replace("{RUN}", f"r{r}{name[:2]}")
                        .replace("{DEVICE_EXPR}", device_expr)
                        .replace("{PTID}", str(ptid))
                    )
                    results[name].append(
                        rate(server.pid, cpu[name], f"{base}/", args.seconds, script)
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)

    bare = statistics.median(results["bare"])
    print(f"{args.rounds} interleaved rounds of {args.seconds:g}s; gunicorn 1 process 1 thread")
    print("on one core, wrk -t1 -c8 on the other; SQLite; requests/s (median of rounds)")
    for name, values in results.items():
        value = statistics.median(values)
        ratio = "" if name == "bare" else f"   {value / bare:6.1%} of bare Flask"
        print(f"  {name:12} {value:8.0f}{ratio}   rounds: {', '.join(f'{v:.0f}' for v in values)}")
    ratio_200 = statistics.median(results["pass 200"]) / statistics.median(results["304"])
    ratio_live = statistics.median(results["pass 200 live"]) / statistics.median(results["304"])
    print(f"  pass 200 / 304: {ratio_200:.1%} (target >= 50 %); live: {ratio_live:.1%}")
    print("server CPU ms per request (median of rounds; the server's processes only):")
    for name, values in cpu.items():
        print(f"  {name:12} {statistics.median(values):8.3f}")
    for name in ("pass 200", "pass 200 live"):
        cpu_ratio = statistics.median(cpu["304"]) / statistics.median(cpu[name])
        print(f"  {name} / 304 by server CPU: {cpu_ratio:.1%} (the ratio on a core of its own)")
    print(json.dumps({k: round(statistics.median(v)) for k, v in results.items()}))


if __name__ == "__main__":
    main()
