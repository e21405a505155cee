"""The one place where domain errors and HTTP errors become responses.

API paths (/api/, /passkit/) answer JSON ``{"error": {"code", "message", ...}}``;
pages answer a short HTML page in the visitor's language.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.errors import DomainError
from app.loyalty.errors import (
    AlreadyEnrolledError,
    InsufficientPointsError,
    ProgramClosedError,
    UnknownCardError,
    UnknownProgramError,
    ValidationError,
)
from app.passes.errors import TooManyDevicesError
from app.passes.google.client import GoogleWalletError
from app.passes.templates import TemplateError
from app.services.campaign_control import StateError
from app.services.program_admin import ProgramArchivedError
from app.staff.errors import ForbiddenError, StaffStateError
from app.till.errors import (
    CodeReusedError,
    DuplicateConflictError,
    TillError,
    UnauthorizedTerminalError,
    UnknownReceiptError,
)
from app.web.i18n import N_, _

log = logging.getLogger(__name__)

# The HTTP status of every domain error, in one table. An error answers the status of
# its own class, else of its nearest base class listed (most specific first, by the
# class's MRO); DomainError's entry is the default.
STATUSES: dict[type[DomainError], int] = {
    DomainError: 400,
    ValidationError: 422,
    StateError: 409,  # the campaign's state does not allow the action
    UnknownProgramError: 404,
    UnknownCardError: 404,
    AlreadyEnrolledError: 409,
    InsufficientPointsError: 409,
    ProgramClosedError: 410,  # archived: gone for new members
    ProgramArchivedError: 409,
    TillError: 422,
    DuplicateConflictError: 409,
    UnknownReceiptError: 404,
    UnauthorizedTerminalError: 401,
    CodeReusedError: 409,
    ForbiddenError: 403,
    StaffStateError: 409,
    TooManyDevicesError: 403,  # not 429: waiting does not help
}


def status_of(error: DomainError | type[DomainError]) -> int:
    """The HTTP status a domain error (or error class) answers."""
    kind = error if isinstance(error, type) else type(error)
    return next(STATUSES[c] for c in kind.__mro__ if c in STATUSES)


_NOT_VALID = N_("The request is not valid.")
_NOT_FOUND = N_("Page not found.")
_HTTP_CODES = {
    400: ("bad_request", _NOT_VALID),
    404: ("not_found", _NOT_FOUND),
    405: ("method_not_allowed", N_("This method is not allowed here.")),
    413: ("request_too_large", N_("The request is too large.")),
    415: ("unsupported_media_type", _NOT_VALID),
    429: ("rate_limited", N_("Too many attempts. Please try again in a few minutes.")),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/passkit/", "/google/"))


def json_error(status: int, code: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response


def _page(status: int, message: str) -> Response:
    response = Response(render_template("error.html", message=message), status=status)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        status = status_of(error)
        if wants_json():
            extra: dict[str, object] = {}
            if isinstance(error, ValidationError):
                extra["fields"] = error.fields
            for attribute in ("balance", "maximum", "remaining"):
                if hasattr(error, attribute):
                    extra[attribute] = getattr(error, attribute)
            response = json_error(status, error.code, str(error), **extra)
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="walletpass-pos"'
            return response
        return _page(status, str(_NOT_FOUND if status == 404 else _NOT_VALID))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        code, text = _HTTP_CODES.get(status, ("http_error", _NOT_VALID))
        if wants_json():
            response = json_error(status, code, error.description or code)
        elif status == 409 and error.description:
            response = _page(status, error.description)  # our own words (an archived program)
        else:
            response = _page(status, str(text))
        for name, value in error.get_headers():
            if name == "Allow":  # 405 says which methods the path takes
                response.headers[name] = value
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.errorhandler(GoogleWalletError)
    def _google(error: GoogleWalletError) -> Response:
        # Status and reason only: Google's message may quote the object id.
        log.error("Google Wallet API failed: %s %s", error.status, error.reason)
        if wants_json():
            return json_error(502, "google_unavailable", "Google Wallet did not answer; try again")
        return _page(502, _("Google Wallet did not answer. Please try again in a minute."))

    @app.errorhandler(TemplateError)
    def _template(error: TemplateError) -> Response:
        log.error("pass template problem: %s", error)
        if wants_json():
            return json_error(500, "template_error", "the program's card template is broken")
        return _page(500, _("An error occurred on our side. Please try again."))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.endpoint)
        if wants_json():
            return json_error(500, "internal_error", "internal error, nothing was changed")
        return _page(500, _("An error occurred on our side. Please try again."))
