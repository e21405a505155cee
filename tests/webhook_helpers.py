"""A real HTTP receiver on loopback for webhook tests, the doc's verification snippet,
and running the queued webhook tasks as the worker would."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.bootstrap import Services
from app.webhooks.sender import Answer, WebhookSender
from app.worker import webhooks as webhook_worker

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def doc_verifier() -> Any:
    """``verify_signature`` from the Python block of docs/webhooks.md, run as written."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    code = next(b for b in blocks if "def verify_signature" in b)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102  (our own documentation)
    return namespace["verify_signature"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers every POST with ``status`` and ``answer``; stop() and start() again on
    the same port play a receiver that is down and comes back."""

    status: int = 204
    answer: bytes = b""
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/walletpass?team=crm"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def run_webhook_tasks(services: Services, sender: WebhookSender | None = None) -> list[Answer]:
    """Run the queued deliver_webhooks tasks (other tasks are dropped)."""
    sender = sender or WebhookSender(production=False, timeout=5)
    answers: list[Answer] = []
    while True:
        tasks = [t for t in services.queue.huey.pending() if t.name == "deliver_webhooks"]
        services.queue.huey.flush()
        if not tasks:
            return answers
        for task in tasks:
            answers += webhook_worker.deliver(services, sender, task.args[0])


def queued_webhooks(services: Services) -> list[int]:
    return sorted(
        i for t in services.queue.huey.pending() if t.name == "deliver_webhooks" for i in t.args[0]
    )
