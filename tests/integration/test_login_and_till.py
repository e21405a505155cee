"""Issue 17, finding 4: a login's password check must not hold SQLite's write lock, or
every till waits for it (40 guessing clients pushed purchases from 6 ms to 4.8 s)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time

from sqlalchemy import select

from app.bootstrap import Services
from app.services import enrollment, staff, terminals
from app.services.programs import seed_demo
from app.staff.models import StaffUser
from app.web import create_app


def slow_hash(password: str, lanes: int) -> str:
    """A stored hash whose own parameters make checking it take ``lanes`` times the usual
    scrypt work (the format is self-describing, so the check honours them)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=2**14, r=8, p=lanes, maxmem=64 * 2**20, dklen=32
    )
    encode = base64.b64encode
    return f"scrypt${2**14}$8${lanes}${encode(salt).decode()}${encode(digest).decode()}"


def test_a_purchase_is_not_held_up_by_a_login_in_progress(sqlite_services: Services) -> None:
    services = sqlite_services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Anna", phone="+79007771111", consent=True)
        card = enrollment.enroll(
            session,
            services.clock,
            program,
            enrollment.validate(form, program, services.clock.now().date()),
        )
        key = terminals.add_terminal(session, services.clock, program, "Till")[1]
        barcode = f"{card.number}-{card.barcode_secret}"
        user = staff.add_user(
            session,
            services.clock,
            email="olga@example.com",
            name="Olga",
            role="admin",
            password="correct horse battery",
            actor="cli",
        )
        user.password_hash = slow_hash("correct horse battery", lanes=64)

    app = create_app(services=services)
    started = time.perf_counter()
    slow_hash("x", lanes=64)
    verify_seconds = time.perf_counter() - started
    assert verify_seconds > 0.5, "the slow hash is not slow enough to tell"

    login_client = app.test_client()
    page = login_client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    login_done: list[float] = []

    def guess() -> None:
        response = login_client.post(
            "/console/login",
            data={"csrf_token": token.group(1), "email": "olga@example.com", "password": "nope"},
        )
        assert response.status_code == 401
        login_done.append(time.perf_counter())

    guesser = threading.Thread(target=guess)
    guesser.start()
    time.sleep(0.15)  # the guess is now checking the password
    till = app.test_client()
    before = time.perf_counter()
    purchase = till.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R1", "amount": 150_000, "barcode": barcode},
        headers={"Authorization": f"Bearer {key}"},
    )
    took = time.perf_counter() - before
    purchase_done = time.perf_counter()
    guesser.join()
    assert purchase.status_code == 201, purchase.get_data(as_text=True)
    assert login_done and purchase_done < login_done[0], "the purchase waited for the login"
    assert took < verify_seconds / 2, (
        f"purchase took {took:.2f}s during a {verify_seconds:.2f}s check"
    )

    with services.transaction() as session:  # the failure was still recorded afterwards
        failed = session.scalar(select(StaffUser.failed_logins))
    assert failed == 1
