"""Building the worker's push channels (APNs, relays) and running the queue consumer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from app.bootstrap import Services, apns_client_pem_files, dev_chain_paths
from app.push.apns.client import ApnsConfig, ApnsSender
from app.push.channels import ApnsChannel, Channels
from app.push.relay_http import RelayHttp
from app.push.relays import RelayChannel, build_relays
from app.push.rules import PushSender
from app.worker import handlers

log = logging.getLogger(__name__)


def client_pem_files(services: Services) -> tuple[Path, Path]:
    """The Pass Type ID certificate and key as PEM files for APNs' TLS client
    authentication; private, rewritten at each start."""
    folder = services.settings.instance_dir / "apns"
    return apns_client_pem_files(services.signing_identity, folder)


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


@contextmanager
def relay_channels(services: Services) -> Iterator[list[RelayChannel]]:
    """The Android apps' relay channels from the settings; in development, relays
    without a URL go to local fake relays (one loopback server for all protocols)."""
    settings = services.settings
    http = RelayHttp()
    relays = dict(settings.relays)
    try:
        unset = [app for app, relay in relays.items() if relay.url is None and relay.off is None]
        if not unset or settings.env != "development":
            yield build_relays(relays, http, production=settings.is_production)
            return
        # Development only (settings never leave a relay URL unset without a reason
        # elsewhere): the fakes are imported here and nowhere on a production path.
        from app.fakes.relays import running_fake_relays

        keys = {app: "dev-relay-key" for app in unset}
        with running_fake_relays(keys=keys, record=False) as fake:
            for app in unset:
                relays[app] = replace(fake.settings(app), key=keys[app])
            log.warning(
                "development: relays without a URL (%s) go to local fake relays on port %d; "
                "a PassWallet phone may use %s as its pushServiceUrl",
                ", ".join(unset),
                fake.port,
                fake.url("passwallet"),
            )
            yield build_relays(relays, http, production=settings.is_production)
    finally:
        http.close()


@contextmanager
def push_channels(services: Services) -> Iterator[Channels]:
    """APNs and every relay channel of this worker."""
    with apns_sender(services) as sender, relay_channels(services) as relays:
        yield Channels([ApnsChannel(sender), *relays])


def run_consumer(services: Services, threads: int) -> None:
    """Consume the queue until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    with push_channels(services) as channels:
        handlers.attach(services, channels)
        for channel in channels:
            if channel.off is not None:
                log.info("push channel %s is off: %s", channel.name, channel.off)
        # Whatever a crashed or killed worker left owed goes out now, not in a minute.
        handlers.sweep(services, channels)
        handlers.refresh_google_keys(services)  # callbacks need them before the first minute
        consumer = services.queue.huey.create_consumer(workers=threads, worker_type="thread")
        consumer.run()
