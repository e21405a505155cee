"""Building the worker's APNs sender and running the queue consumer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app.bootstrap import Services, dev_chain_paths
from app.push.apns.client import ApnsConfig, ApnsSender
from app.push.rules import PushSender
from app.worker import handlers

log = logging.getLogger(__name__)


def client_pem_files(services: Services) -> tuple[Path, Path]:
    """PEM copies of the Pass Type ID certificate (with its WWDR intermediate) and key
    for the TLS client authentication APNs asks for; private, rewritten at each start."""
    identity = services.signing_identity
    folder = services.settings.instance_dir / "apns"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert, key = folder / "client.pem", folder / "client-key.pem"
    cert.write_bytes(
        identity.certificate.public_bytes(Encoding.PEM) + identity.wwdr.public_bytes(Encoding.PEM)
    )
    key.touch(mode=0o600)
    key.write_bytes(
        identity.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    return cert, key


@contextmanager
def apns_sender(services: Services) -> Iterator[PushSender]:
    """The real APNs (or WALLETPASS_APNS_URL); in development without certificates
    from Apple, a local fake APNs so the whole pipeline still runs end to end."""
    settings = services.settings
    cert, key = client_pem_files(services)
    common = {
        "topic": settings.apple.pass_type_id,
        "auth": settings.apns.auth,
        "client_cert": cert,
        "client_key": key,
        "key_file": settings.apns.key_file,
        "key_id": settings.apns.key_id,
        "team_id": settings.apple.team_id,
        "connections": settings.apns.connections,
    }
    if settings.apns.url is not None:
        config = ApnsConfig(base_url=settings.apns.url, ca_file=settings.apns.ca_file, **common)  # type: ignore[arg-type]
        with ApnsSender(config) as sender:
            yield sender
        return
    # Development only (settings require an APNs URL in production and with real
    # certificates): the fakes are imported here and nowhere on a production path.
    from app.fakes.apns import running_fake_apns
    from app.fakes.tls import make_server_cert

    server = make_server_cert(settings.instance_dir / "fake-apns")
    with running_fake_apns(
        server_cert=server.cert,
        server_key=server.key,
        client_ca=dev_chain_paths(settings)["root"],
        topic=settings.apple.pass_type_id,
        record=False,
    ) as fake:
        log.warning(
            "development: no APNs configured, pushes go to a local fake APNs on port %d "
            "(set WALLETPASS_APNS_URL and real certificates for phones)",
            fake.port,
        )
        config = ApnsConfig(
            base_url=f"https://127.0.0.1:{fake.port}",
            ca_file=server.ca_cert,
            **common,  # type: ignore[arg-type]
        )
        with ApnsSender(config) as sender:
            yield sender


def run_consumer(services: Services, threads: int) -> None:
    """Consume the queue until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    with apns_sender(services) as sender:
        handlers.attach(services, sender)
        # Whatever a crashed or killed worker left owed goes out now, not in a minute.
        handlers.sweep(services)
        handlers.refresh_google_keys(services)  # callbacks need them before the first minute
        consumer = services.queue.huey.create_consumer(workers=threads, worker_type="thread")
        consumer.run()
