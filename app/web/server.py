"""Serving the app with gunicorn from inside the process (`walletpass serve` and `run`).

The app is built by a factory in each gunicorn worker, after the fork: every worker
process gets its own engine and connection pool, never one inherited from the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from app import metrics


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._factory()  # in the worker process (preload_app stays off)


def control_socket_options(instance_dir: Path) -> dict[str, Any]:
    """gunicorn's control socket inside the instance directory: by default every
    instance of the same user shares ~/.gunicorn/gunicorn.ctl, and stopping one deletes
    another's. Off when the path is too long for a Unix socket (108 bytes on Linux)."""
    path = instance_dir.resolve() / "gunicorn.ctl"
    if len(str(path).encode()) >= 100:
        return {"control_socket_disable": True}
    return {"control_socket": str(path), "control_socket_mode": 0o600}


def serve(
    factory: Callable[[], Flask],
    *,
    host: str,
    port: int,
    instance_dir: Path,
    workers: int = 1,
    threads: int = 8,
) -> None:
    _Gunicorn(
        factory,
        {
            **control_socket_options(instance_dir),
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "preload_app": False,
            # Off: paths carry capabilities (card ids, device ids); the app writes its
            # own access log with route templates (app.web.access_log).
            "accesslog": None,
            "timeout": 60,
            # The proxy in front (nginx) closes idle keep-alive connections itself.
            "keepalive": 5,
            "child_exit": metrics.gunicorn_child_exit,
        },
    ).run()
