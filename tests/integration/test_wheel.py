"""The service installed as a wheel, outside the source tree, as an operator runs it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.cli.test_serve import free_port

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", ".venv", "build", "dist", "instance", "*.egg-info", "__pycache__",
              ".*_cache", ".hypothesis", "test-artifacts", "dev")  # fmt: skip
pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_an_installed_wheel_migrates_issues_a_pass_and_serves(tmp_path: Path) -> None:
    # Built from a clean copy: setuptools' build/ folder in a working tree keeps files
    # that were renamed or deleted since (an old migration would make a second head).
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", "dist", str(source)],
        tmp_path, dict(os.environ))  # fmt: skip
    wheel = next((tmp_path / "dist").glob("walletpass-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ))
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The wheel is unpacked into the fresh venv; its dependencies come from the test
    # venv's site-packages through a plain path entry (no network, and none of that
    # venv's .pth hooks, so its editable walletpass cannot shadow the wheel).
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALLETPASS_", "PYTHON"))}
    env["WALLETPASS_PUBLIC_URL"] = "https://shop.example.test"
    where = run([str(python), "-c", "import app; print(app.__file__)"], tmp_path, env)
    assert where.strip().startswith(str(site))

    cli = [str(python), "-m", "app.cli"]
    run([*cli, "db", "upgrade"], tmp_path, env)
    run([*cli, "demo", "seed"], tmp_path, env)
    # Data and development certificates land beside the operator, not in site-packages.
    assert (tmp_path / "instance" / "walletpass.db").is_file()
    assert (tmp_path / "instance" / "dev-certs" / "pass.p12").is_file()

    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.communicate()[0]) from None
                time.sleep(0.2)
        body = json.dumps({"name": "Anna", "phone": "+7 900 123-45-67", "consent": True})
        request = urllib.request.Request(
            f"{base}/api/v1/programs/demo/enrollments",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            links = json.load(response)["links"]
        pass_url = links["apple_pass"].replace("https://shop.example.test", base)
        with urllib.request.urlopen(pass_url, timeout=30) as response:
            assert response.headers["Content-Type"] == "application/vnd.apple.pkpass"
            bundle = zipfile.ZipFile(io.BytesIO(response.read()))
        assert {"pass.json", "manifest.json", "signature", "icon.png"} <= set(bundle.namelist())
        assert json.loads(bundle.read("pass.json"))["organizationName"]
        # The message catalogs ship in the wheel: the join page speaks Russian.
        request = urllib.request.Request(f"{base}/join/demo", headers={"Accept-Language": "ru"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert "Получить карту" in response.read().decode()
    finally:
        server.terminate()
        server.communicate(timeout=20)
