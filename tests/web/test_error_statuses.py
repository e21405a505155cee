"""Domain errors say what went wrong (a stable code and a message); app/web/errors.py
alone says which HTTP status answers each of them, in one table."""

from __future__ import annotations

import importlib
import pkgutil

from flask.testing import FlaskClient

import app
from app.errors import DomainError
from app.loyalty.models import Program
from app.web.errors import STATUSES, status_of

# What each error answered before the table moved out of the domain. A new domain error
# fails this test until someone decides its status here and, when it differs from its
# base class's, in STATUSES.
EXPECTED = {
    "app.errors.DomainError": 400,
    "app.loyalty.errors.LoyaltyError": 400,
    "app.loyalty.errors.ValidationError": 422,
    "app.services.campaign_control.StateError": 409,
    # Both are always caught by their console page (which answers 422 itself); as
    # ValidationErrors they would answer 422 too (the old exact-type lookup said 400).
    "app.services.card_texts.CardTextsError": 422,
    "app.services.design.DesignError": 422,
    "app.loyalty.errors.UnknownProgramError": 404,
    "app.loyalty.errors.AlreadyEnrolledError": 409,
    "app.loyalty.errors.UnknownCardError": 404,
    "app.loyalty.errors.InsufficientPointsError": 409,
    "app.loyalty.errors.ProgramClosedError": 410,
    "app.till.errors.TillError": 422,
    "app.till.errors.CardBlockedError": 422,
    "app.till.errors.CardReplacedError": 422,
    "app.till.errors.RedeemLimitError": 422,
    "app.till.errors.BarcodeRequiredError": 422,
    "app.till.errors.DuplicateConflictError": 409,
    "app.till.errors.UnknownReceiptError": 404,
    "app.till.errors.RefundExceedsError": 422,
    "app.till.errors.UnauthorizedTerminalError": 401,
    "app.till.errors.CodeExpiredError": 422,
    "app.till.errors.CodeReusedError": 409,
    "app.till.errors.RotatingCodeRequiredError": 422,
    "app.staff.errors.ForbiddenError": 403,
    "app.staff.errors.StaffStateError": 409,
    "app.passes.errors.TooManyDevicesError": 403,
    "app.services.program_admin.ProgramArchivedError": 409,
}


def domain_errors() -> dict[str, type[DomainError]]:
    """Every DomainError class defined anywhere in app (its modules all imported)."""
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop()
        found[f"{kind.__module__}.{kind.__qualname__}"] = kind
        pending.extend(kind.__subclasses__())
    return {name: kind for name, kind in found.items() if name.startswith("app.")}


def test_every_domain_error_has_a_decided_status() -> None:
    errors = domain_errors()
    assert sorted(errors) == sorted(EXPECTED)
    assert {name: status_of(kind) for name, kind in errors.items()} == EXPECTED


def test_the_domain_names_no_http_status() -> None:
    for kind in domain_errors().values():
        assert "status" not in vars(kind), kind
    assert set(STATUSES) <= set(domain_errors().values())


def test_representative_errors_answer_as_before(client: FlaskClient, demo: Program) -> None:
    unknown = client.post(
        "/api/v1/programs/nope/enrollments",
        json={"name": "Ivan Petrov", "phone": "+7 900 765-43-21", "consent": True},
    )
    assert unknown.status_code == 404
    assert unknown.json == {
        "error": {"code": "unknown_program", "message": "no loyalty program 'nope'"}
    }
    keyless = client.get("/api/pos/v1/cards/123")
    assert keyless.status_code == 401
    assert keyless.json == {
        "error": {"code": "unauthorized", "message": "missing, unknown or revoked terminal key"}
    }
    assert keyless.headers["WWW-Authenticate"] == 'Bearer realm="walletpass-pos"'
    page = client.get("/join/nope", headers={"Accept-Language": "en"})
    assert page.status_code == 404 and "Page not found." in page.get_data(as_text=True)
