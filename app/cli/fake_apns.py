"""`walletpass fake-apns`: a local APNs stand-in for development and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from app.fakes.apns import FakeApns, Received

# app.fakes is imported when this command runs, never when another command loads the CLI.

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load_token_key(path: Path) -> ec.EllipticCurvePublicKey:
    data = path.read_bytes()
    try:
        key: object = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, None).public_key()
        except (ValueError, TypeError):
            raise click.BadParameter(
                f"{path}: not a PEM EC key", param_hint="--token-key"
            ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise click.BadParameter(f"{path}: not an EC key", param_hint="--token-key")
    return key


def _show(item: Received) -> None:
    topic = item.headers.get("apns-topic")
    click.echo(f"{item.status} {item.token[:8]}… topic={topic} body={item.body!r}")


async def _serve(fake: FakeApns, host: str, port: int) -> None:
    bound = await fake.start(host, port)
    click.echo(f"fake APNs listening on https://{host}:{bound}")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()
        click.echo(f"fake APNs stopped: {fake.requests} requests on {fake.connections} connections")


@click.command("fake-apns")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2197, show_default=True, type=click.IntRange(0, 65535))
@click.option("--cert", type=_FILE, help="Server certificate (PEM); generated when absent.")
@click.option("--key", type=_FILE, help="Private key of --cert.")
@click.option(
    "--client-ca",
    type=_FILE,
    multiple=True,
    help="CA that signed the allowed client certificates (repeat for intermediates).",
)
@click.option("--token-key", type=_FILE, help="EC key (.p8 or public PEM) to verify JWTs.")
@click.option("--topic", help="Required apns-topic (default: the client certificate's UID).")
@click.option("--dead-token-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--fail-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--fail-status", type=click.Choice(["429", "500", "503"]), default="500")
@click.option("--goaway-every", type=click.IntRange(1), help="GOAWAY after N requests.")
@click.option("--max-streams", type=click.IntRange(1), default=1000, show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Print every request.")
def fake_apns(
    host: str,
    port: int,
    cert: Path | None,
    key: Path | None,
    client_ca: tuple[Path, ...],
    token_key: Path | None,
    topic: str | None,
    dead_token_ratio: float,
    latency_ms: float,
    fail_ratio: float,
    fail_status: str,
    goaway_every: int | None,
    max_streams: int,
    verbose: bool,
) -> None:
    """Serve a fake APNs (HTTP/2, TLS, client certificates) for local development."""
    from app.fakes.apns import FakeApns
    from app.fakes.tls import make_server_cert

    if (cert is None) != (key is None):
        raise click.UsageError("give both --cert and --key, or neither")
    if not client_ca and token_key is None:
        raise click.UsageError("--client-ca is required (or --token-key for token auth)")
    with tempfile.TemporaryDirectory(prefix="fake-apns-") as tmp:
        if cert is None or key is None:
            made = make_server_cert(Path(tmp))
            cert, key = made.cert, made.key
            click.echo(f"server certificate CA: {made.ca_cert}")
            click.echo(f"  export WALLETPASS_APNS_CA_FILE={made.ca_cert}")
        fake = FakeApns(
            server_cert=cert,
            server_key=key,
            client_ca=list(client_ca) or None,
            topic=topic,
            dead_ratio=dead_token_ratio,
            latency=latency_ms / 1000,
            fail_ratio=fail_ratio,
            fail_status=int(fail_status),
            goaway_after=goaway_every,
            max_concurrent_streams=max_streams,
            token_key=_load_token_key(token_key) if token_key else None,
            record=False,
            on_request=_show if verbose else None,
        )
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: asyncio.run stops the fake
            asyncio.run(_serve(fake, host, port))
