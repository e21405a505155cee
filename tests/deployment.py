"""What docs/deployment.md tells operators to run, read back for the tests that run it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def blocks(language: str) -> list[str]:
    """The fenced code blocks of one language in docs/deployment.md, in order."""
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"docs/deployment.md's nginx block lacks one {old!r}"
    return text.replace(old, new)


def nginx_site(
    *, https_port: int, http_port: int, upstreams: list[int], cert: Path, key: Path
) -> str:
    """The documented nginx site with only addresses, ports and certificate paths
    changed, so the scale-out test runs what operators copy."""
    (site,) = blocks("nginx")
    upstream = "".join(
        f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;\n" for port in upstreams
    )
    site = _replace(
        site,
        "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;\n"
        "    server 10.0.0.12:8000 max_fails=3 fail_timeout=10s;\n",
        upstream,
    )
    site = _replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = _replace(site, "/etc/ssl/walletpass/fullchain.pem", str(cert))
    return _replace(site, "/etc/ssl/walletpass/privkey.pem", str(key))


def exec_starts() -> dict[str, list[str]]:
    """Unit name (walletpass-serve, walletpass-worker@) -> the walletpass arguments
    of its ExecStart line."""
    units: dict[str, list[str]] = {}
    for unit in blocks("ini"):
        name = re.search(r"^Description=walletpass (\w+)", unit, flags=re.MULTILINE)
        start = re.search(r"^ExecStart=(.+)$", unit, flags=re.MULTILINE)
        assert name and start, unit
        argv = shlex.split(start.group(1))
        assert argv[0].endswith("/bin/walletpass"), argv
        units[name.group(1)] = argv[1:]
    return units
