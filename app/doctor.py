"""`walletpass doctor`: checks that a deployment can work, one result per line.

Each check takes the shared ``Context`` and yields ``Result``s; ``CHECKS`` lists them
in the order they run, so a new check (one per Android push relay, say) is one more
function and one more entry. Checks talk to the real outside systems (database,
queue, APNs, Google) but change nothing: no migration, no push, no task.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from cryptography import x509
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.bootstrap import (
    alembic_config,
    apns_client_pem_files,
    certificate_report,
    load_identity,
    migration_state,
)
from app.clock import Clock, SystemClock
from app.passes.apple.certs import CertificateError, SigningIdentity
from app.passes.google.auth import AccessTokens, ServiceAccount, ServiceAccountError, TokenError
from app.push.apns.client import ApnsConfig, ApnsConfigError, probe
from app.queue import make_huey
from app.settings import Settings, SettingsError

CHECK_TIMEOUT = 20.0  # seconds one check may take before it counts as failed


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but needs attention soon (shown, not fatal)
    SKIP = "skip"  # not applicable to this configuration
    FAIL = "FAIL"


@dataclass(frozen=True)
class Result:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status.value:<4} {self.name:<9} {self.detail}"


@dataclass
class Context:
    settings: Settings
    clock: Clock
    identity: SigningIdentity | None = None  # set by the certificate check


Check = Callable[[Context], Iterable[Result]]


def _scheme(url: str) -> str:
    """``postgresql`` of ``postgresql+psycopg://...``: what kind of server a URL names."""
    return url.split(":", 1)[0].split("+", 1)[0]


def _first_line(exc: BaseException) -> str:
    """An exception's message without SQLAlchemy's statement and background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --- the checks ------------------------------------------------------------------------


def _expiry(days: int, cert: x509.Certificate) -> str:
    when = f"{cert.not_valid_after_utc:%Y-%m-%d}"
    return f"expired {-days} days ago ({when})" if days < 0 else f"expires in {days} days ({when})"


def check_certificates(ctx: Context) -> Iterator[Result]:
    """The pass certificate and its WWDR intermediate: chain, ids and days to expiry."""
    try:
        identity = load_identity(ctx.settings, ctx.clock)
    except CertificateError as exc:
        yield Result(Status.FAIL, "certs", str(exc))
        return
    ctx.identity = identity
    report = certificate_report(ctx.settings, identity, ctx.clock)
    source = "development chain" if ctx.settings.apple.uses_dev_certs else "pass certificate"
    expiry = (
        f"{source} {identity.pass_type_id} {_expiry(report.days_left, identity.certificate)}, "
        f"WWDR {_expiry(report.wwdr_days_left, identity.wwdr)}"
    )
    errors = list(report.errors)
    if ctx.settings.is_production and identity.is_development:
        errors.append("a development certificate in production: iPhones reject its passes")
    if errors:
        yield Result(Status.FAIL, "certs", f"{expiry}: " + "; ".join(errors))
    elif report.warnings:
        yield Result(Status.WARN, "certs", f"{expiry}: " + "; ".join(report.warnings))
    else:
        yield Result(Status.OK, "certs", f"{expiry}, chain verified")


def check_database(ctx: Context) -> Iterator[Result]:
    """Reachable, and migrated to the newest revision (nothing is created or changed)."""
    url = make_url(ctx.settings.database_url)
    kind = url.get_backend_name()
    on_disk = url.database not in (None, "", ":memory:")
    if kind == "sqlite" and on_disk and not Path(str(url.database)).is_file():
        # Connecting would create an empty file; say what to do instead.
        yield Result(
            Status.FAIL,
            "database",
            f"sqlite file {url.database} does not exist: run `walletpass db upgrade`",
        )
        return
    try:
        state = migration_state(ctx.settings.database_url)
    except ImportError as exc:
        yield Result(Status.FAIL, "database", f"{kind}: driver missing ({exc})")
        return
    except SQLAlchemyError as exc:
        yield Result(Status.FAIL, "database", f"{kind} unreachable: {_first_line(exc)}")
        return
    if state.at_head:
        yield Result(Status.OK, "database", f"{kind} reachable, migrations at head ({state.head})")
    elif state.current is not None and not _known_revision(ctx.settings, state.current):
        yield Result(
            Status.FAIL,
            "database",
            f"{kind} reachable, at {state.current}, newer than this code (head {state.head}): "
            "upgrade walletpass on this machine",
        )
    else:
        at = f"at {state.current}" if state.current else "no migrations applied"
        yield Result(
            Status.FAIL,
            "database",
            f"{kind} reachable, {at} but head is {state.head}: run `walletpass db upgrade`",
        )


def _known_revision(settings: Settings, revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    try:
        return script.get_revision(revision) is not None
    except CommandError:  # alembic's "Can't locate revision"
        return False


def check_queue(ctx: Context) -> Iterator[Result]:
    """The task queue answers (a count of waiting tasks; nothing is enqueued)."""
    kind = _scheme(ctx.settings.queue_url or "sqlite:///")
    try:
        waiting = make_huey(ctx.settings.queue_url, ctx.settings.instance_dir).pending_count()
    except Exception as exc:  # redis, psycopg and sqlite each raise their own kind
        yield Result(Status.FAIL, "queue", f"{kind} unreachable: {_first_line(exc)}")
        return
    note = " (one process only: tests)" if kind == "memory" else ""
    yield Result(Status.OK, "queue", f"{kind} reachable, {waiting} tasks waiting{note}")


def check_rate_limits(ctx: Context) -> Iterator[Result]:
    """Where the rate-limit counters every web process shares are kept."""
    url = ctx.settings.rate_limit_url
    if url is None:
        yield Result(Status.SKIP, "limits", "counters kept in the database (see database)")
        return
    import redis  # the 'redis' extra; settings checked that it is installed

    try:
        redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        yield Result(Status.FAIL, "limits", f"redis unreachable: {_first_line(exc)}")
        return
    yield Result(Status.OK, "limits", "redis reachable, counters shared by every web process")


def check_apns(ctx: Context) -> Iterator[Result]:
    """A TLS handshake with APNs the way the worker connects; no push is sent."""
    settings = ctx.settings
    if settings.apns.url is None:
        yield Result(Status.SKIP, "apns", "skipped: development uses a local fake APNs")
        return
    if ctx.identity is None and settings.apns.auth == "cert":
        yield Result(Status.FAIL, "apns", "no usable pass certificate for TLS (see certs)")
        return
    parts = urlsplit(settings.apns.url)
    host = f"{parts.hostname}:{parts.port or 443}"
    with tempfile.TemporaryDirectory(prefix="walletpass-doctor-") as tmp:
        cert = key = None
        if ctx.identity is not None and settings.apns.auth == "cert":
            cert, key = apns_client_pem_files(ctx.identity, Path(tmp) / "apns")
        try:
            config = ApnsConfig(
                topic=settings.apple.pass_type_id,
                base_url=settings.apns.url,
                auth=settings.apns.auth,
                client_cert=cert,
                client_key=key,
                ca_file=settings.apns.ca_file,
                key_file=settings.apns.key_file,
                key_id=settings.apns.key_id,
                team_id=settings.apple.team_id,
            )
            done = probe(config, timeout=10.0)
        except (ApnsConfigError, OSError) as exc:
            yield Result(Status.FAIL, "apns", f"TLS handshake with {host} failed: {exc}")
            return
    yield Result(Status.OK, "apns", done)


def check_google(ctx: Context) -> Iterator[Result]:
    """An OAuth access token for the service account (the token itself is not shown)."""
    google = ctx.settings.google
    if google is None:
        yield Result(Status.SKIP, "google", "not configured (WALLETPASS_GOOGLE_* unset)")
        return
    try:
        account = ServiceAccount.from_file(google.service_account_file)
        AccessTokens(account, google.token_url).get()
    except (ServiceAccountError, TokenError) as exc:
        yield Result(Status.FAIL, "google", str(exc))
        return
    yield Result(
        Status.OK, "google", f"access token from {google.token_url} for {account.client_email}"
    )


def _reachable(url: str, timeout: float) -> str:
    """Connect to the relay's host (TLS for https, with the system's CAs) and close:
    nothing is posted. Returns what was reached; raises OSError."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        if parts.scheme != "https":
            return f"{host}:{port} reachable (plain http: development and tests only)"
        context = ssl.create_default_context()
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return f"{tls.version()} with {host}:{port}"


def check_relays(ctx: Context) -> Iterator[Result]:
    """The push relays of the Android .pkpass apps, one line each: reachable when
    configured (no push is sent), the reason when off."""
    relays = ctx.settings.relays
    if not relays:
        yield Result(Status.SKIP, "relays", "none configured")
        return
    for app, relay in sorted(relays.items()):
        if relay.url is None and relay.off is None:
            yield Result(Status.SKIP, "relays", f"{app}: development uses a local fake relay")
        elif relay.off is not None:
            yield Result(Status.SKIP, "relays", f"{app}: off ({relay.off})")
        else:
            assert relay.url is not None
            try:
                yield Result(Status.OK, "relays", f"{app}: {_reachable(relay.url, 10.0)}")
            except OSError as exc:
                host = urlsplit(relay.url).netloc
                yield Result(Status.FAIL, "relays", f"{app}: {host} unreachable: {exc}")


CHECKS: tuple[tuple[str, Check], ...] = (
    ("certs", check_certificates),
    ("database", check_database),
    ("queue", check_queue),
    ("limits", check_rate_limits),
    ("apns", check_apns),
    ("google", check_google),
    ("relays", check_relays),
)


# --- running them ------------------------------------------------------------------------


def _bounded(name: str, check: Check, ctx: Context, timeout: float) -> list[Result]:
    """Run one check in a thread; a hang or an unexpected error becomes a FAIL line."""
    results: list[Result] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.extend(check(ctx))
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"doctor-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return [*results, Result(Status.FAIL, name, f"no answer within {timeout:.0f} s")]
    if errors:
        exc = errors[0]
        return [*results, Result(Status.FAIL, name, f"{type(exc).__name__}: {_first_line(exc)}")]
    return results


def run_checks(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Clock | None = None,
    timeout: float = CHECK_TIMEOUT,
) -> Iterator[Result]:
    """Every check in order; settings that do not load fail and skip the rest."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        yield Result(Status.FAIL, "settings", str(exc))
        for name, _ in CHECKS:
            yield Result(Status.SKIP, name, "skipped: the settings did not load")
        return
    database = make_url(settings.database_url).get_backend_name()
    queue = _scheme(settings.queue_url or "sqlite:///")
    yield Result(
        Status.OK,
        "settings",
        f"{settings.env}, public URL {settings.public_url}, database {database}, queue {queue}",
    )
    ctx = Context(settings, clock or SystemClock())
    for name, check in CHECKS:
        yield from _bounded(name, check, ctx, timeout)
