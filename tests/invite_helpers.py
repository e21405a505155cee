"""Invite test fixtures: the fake SMS.ru gateway and a real SMTP server on loopback,
wired into the services' invite channels; and running the queued invite tasks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.bootstrap import Services, build_messaging
from app.fakes.sms import FakeSmsRu
from app.messaging_settings import messaging_settings
from app.worker import invites as invite_worker

MAIL_FROM = "Demo Club <club@brand.test>"


@dataclass
class SmtpSink:
    """aiosmtpd handler: keeps what it received; refuses the addresses in ``refused``."""

    refused: set[str] = field(default_factory=set)
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@dataclass
class Channels:
    sms: FakeSmsRu
    smtp: SmtpSink
    smtp_port: int


@pytest.fixture
def channels(services: Services) -> Iterator[Channels]:
    sink = SmtpSink()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    saved = services.messaging
    with FakeSmsRu().running() as gateway:
        env = {
            **gateway.env(),
            "WALLETPASS_SMS_SENDER": "DemoClub",
            "WALLETPASS_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "WALLETPASS_MAIL_FROM": MAIL_FROM,
        }
        services.messaging = build_messaging(messaging_settings(env))
        try:
            yield Channels(gateway, sink, port)
        finally:
            services.messaging = saved
            controller.stop()


def run_invite_tasks(services: Services) -> dict[str, int]:
    """Run the queued send_invites tasks as the worker would (other tasks are dropped)."""
    totals = {"sent": 0, "refused": 0, "retry": 0}
    while True:
        tasks = [t for t in services.queue.huey.pending() if t.name == "send_invites"]
        services.queue.huey.flush()
        if not tasks:
            return totals
        for task in tasks:
            for key, value in invite_worker.send_invites(services, task.args[0]).items():
                totals[key] += value
