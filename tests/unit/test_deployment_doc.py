"""docs/deployment.md names only commands, options and settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import click

from app import settings as settings_module
from app.cli import main
from tests.deployment import DOC, blocks, exec_starts, nginx_site


def test_the_systemd_units_run_existing_commands_with_existing_options() -> None:
    units = exec_starts()
    assert set(units) == {"web", "worker"}
    assert units["web"][0] == "serve" and units["worker"][0] == "worker"
    for argv in units.values():
        command = main.commands[argv[0]]
        with command.make_context(argv[0], argv[1:]) as ctx:  # a wrong option raises
            assert isinstance(ctx, click.Context)


def test_every_documented_setting_exists() -> None:
    known = set(re.findall(r"WALLETPASS_[A-Z0-9_]+", Path(settings_module.__file__).read_text()))
    for app, _, _ in settings_module.RELAYS:  # named in a loop: WALLETPASS_PUSH_<APP>_URL
        known |= {f"WALLETPASS_PUSH_{app.upper()}_URL", f"WALLETPASS_PUSH_{app.upper()}_KEY"}
    documented = set(re.findall(r"WALLETPASS_[A-Z0-9_]+", DOC.read_text()))
    assert documented - known == set()


def test_the_nginx_block_keeps_what_the_scale_out_test_changes(tmp_path: Path) -> None:
    site = nginx_site(
        https_port=8443,
        http_port=8080,
        upstreams=[9001, 9002],
        cert=tmp_path / "c.pem",
        key=tmp_path / "k.pem",
    )
    assert "server 127.0.0.1:9001 " in site and "server 127.0.0.1:9002 " in site
    assert "listen 127.0.0.1:8443 ssl;" in site
    # What walletpass relies on behind the proxy (WALLETPASS_TRUSTED_PROXIES=1).
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header} " in site
    assert "access_log off;" in site  # nginx would log capability paths
    assert len(blocks("nginx")) == 1
