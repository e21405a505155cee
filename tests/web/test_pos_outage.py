"""docs/pos-integration.md's till client against a real server over loopback: a purchase
made while walletpass is down, and one whose answer is lost on the way back, are replayed
later with the same receipt_id, and each is one receipt with its points earned once."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from app.bootstrap import Services, build_services, upgrade_database
from app.clock import FixedClock
from app.loyalty.models import Card
from app.passes.apple.certs import DevChain
from app.services import terminals
from app.services.programs import seed_demo
from app.till.models import Receipt
from tests.conftest import make_settings
from tests.helpers import START

GUIDE = Path(__file__).parents[2] / "docs" / "pos-integration.md"


def guide_client() -> dict[str, Any]:
    """The guide's Python block, run as it is printed."""
    text = GUIDE.read_text()
    block = re.search(r"<!-- till-client.*?-->\n```python\n(.*?)```", text, re.S)
    assert block is not None, "the guide lost its till client"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(GUIDE), "exec"), namespace)  # noqa: S102  our own docs
    return namespace


class Server:
    """The app on a real HTTP server that can be stopped and started on the same port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = 0
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class AnswerDropper:
    """A loopback proxy that passes the request on, lets the server answer, and closes
    the till's connection without the answer: the purchase is recorded, the till never
    hears so."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            headers, _, body = head.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", headers).group(1))  # type: ignore[union-attr]
            while len(body) < length:
                body += conn.recv(65536)
            upstream.sendall(headers + b"\r\n\r\n" + body)
            answer = b""
            while chunk := upstream.recv(65536):  # the server answers in full...
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 201")
        self.done.set()  # ...and the till's connection is closed without a byte of it

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def shop(tmp_path: Path, dev_chain: DevChain) -> Iterator[tuple[Server, Services, str]]:
    from app.web import create_app

    settings = make_settings(tmp_path, WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent))
    upgrade_database(settings.database_url)
    services = build_services(settings, clock=FixedClock(START))
    with services.write_sessions() as session:
        program = seed_demo(session, services.clock)
        _, key = terminals.add_terminal(session, services.clock, program, "Till 1")
        session.commit()
    server = Server(create_app(services=services))
    server.start()
    try:
        yield server, services, key
    finally:
        server.stop()
        services.close()


def receipts(services: Services, receipt_id: str) -> int:
    with services.read_sessions() as session:
        return int(
            session.scalar(select(func.count(Receipt.id)).where(Receipt.receipt_id == receipt_id))
            or 0
        )


def balance(services: Services, number: str) -> int:
    with services.read_sessions() as session:
        card = session.scalar(select(Card).where(Card.number == number))
        assert card is not None
        return card.balance


def test_a_purchase_made_during_an_outage_is_one_receipt_after_the_replay(
    shop: tuple[Server, Services, str],
) -> None:
    server, services, key = shop
    client = guide_client()
    outbox: list[dict[str, Any]] = []
    till = client["Till"](server.url, key, outbox, timeout=5)
    status, enrolled = till.call(
        "POST", "/api/pos/v1/enrollments", {"phone": "+79161234567", "consent": True}
    )
    assert status == 201
    card = enrolled["card"]
    start = balance(services, card["number"])
    sale = {"receipt_id": "TV1-000481", "amount": 150_000, "barcode": card["barcode"]}

    server.stop()  # walletpass is down: the till keeps the sale
    assert till.purchase(sale) is None
    assert outbox == [sale] and receipts(services, "TV1-000481") == 0
    assert till.replay() == [] and outbox == [sale]  # still down: kept, nothing lost

    server.start()  # back on the same address
    assert till.replay() == []
    assert outbox == []
    assert receipts(services, "TV1-000481") == 1
    earned = balance(services, card["number"]) - start
    assert earned > 0
    # Sent once more by mistake: the first answer again, nothing recorded twice.
    status, again = till.call("POST", "/api/pos/v1/purchases", sale)
    assert status == 200 and again["points_earned"] == earned
    assert receipts(services, "TV1-000481") == 1
    assert balance(services, card["number"]) - start == earned
    # The same receipt_id for another sale is a numbering bug, refused.
    with pytest.raises(client["Refused"]) as refused:
        till.purchase({**sale, "amount": 99_000})
    assert refused.value.status == 409 and refused.value.error["code"] == "duplicate_conflict"


def test_a_purchase_whose_answer_was_lost_is_recorded_once_after_the_replay(
    shop: tuple[Server, Services, str],
) -> None:
    server, services, key = shop
    client = guide_client()
    outbox: list[dict[str, Any]] = []
    direct = client["Till"](server.url, key, outbox, timeout=5)
    _, enrolled = direct.call(
        "POST", "/api/pos/v1/enrollments", {"phone": "+79161234568", "consent": True}
    )
    card = enrolled["card"]
    start = balance(services, card["number"])
    sale = {"receipt_id": "TV1-000482", "amount": 80_000, "barcode": card["barcode"]}

    dropper = AnswerDropper(server.port)
    try:
        lossy = client["Till"](f"http://127.0.0.1:{dropper.port}", key, outbox, timeout=5)
        assert lossy.purchase(sale) is None  # no answer: the till cannot know
        assert dropper.done.wait(5)
    finally:
        dropper.close()
    assert outbox == [sale]
    assert receipts(services, "TV1-000482") == 1  # it had arrived
    earned = balance(services, card["number"]) - start

    assert direct.replay() == [] and outbox == []  # 200: the first answer
    assert receipts(services, "TV1-000482") == 1
    assert balance(services, card["number"]) - start == earned > 0
