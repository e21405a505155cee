"""One declaration per JSON operation: it validates the request and writes the OpenAPI entry.

A view declares its contract under its route::

    @bp.post("/api/pos/v1/refunds")
    @operation("Record a refund", body=RefundBody, ok={201: RefundResult, 200: RefundResult},
               errors=(400, 401, 404, 409, 413, 415, 422, 429), security="terminal")
    def refund() -> ...:
        body = parse_body(RefundBody)

and ``app.web.api.openapi`` builds the document from the app's routes and these
declarations (path parameters come from the route's converters), so the validation and
the document cannot drift. Pydantic models are strict (no "5" for 5, no true for 1) and
forbid unknown fields; their errors become our ``validation_failed`` with ``fields``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypeVar

import pydantic
from flask import request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.bounds import whole_number
from app.loyalty.errors import ValidationError

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

ERROR_TEXT = {
    400: "Malformed body, unknown field or bad query",
    401: "Missing or wrong credentials",
    403: "Role not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Not JSON",
    422: "Invalid fields (see error.fields)",
    429: "Rate limited (see Retry-After)",
}


class Body(BaseModel):
    """A request body: a JSON object with exactly these fields."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # 400 (the enrollment API's old promise) or 422 for a field the model does not know.
    unknown_field_status: ClassVar[int] = 422


class Answer(BaseModel):
    """A response body (documentation only: views build dicts)."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query parameters: text from the URL, converted and bounded."""

    model_config = ConfigDict(extra="ignore")


def _ascii_whole(raw: object) -> object:
    if isinstance(raw, str):
        number = whole_number(raw)
        if number is None:
            raise ValueError("must be a whole number (digits 0-9)")
        return number
    return raw


def query_int(minimum: int, maximum: int) -> Any:
    """A whole number in a query string, from ``minimum`` to ``maximum``: ASCII digits
    only (int() also takes "²" and "١")."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_ascii_whole)]


@dataclass(frozen=True)
class Operation:
    summary: str
    ok: Mapping[int, type[BaseModel] | None]
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    security: str | None = None
    description: str | None = None
    links: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    body_media: tuple[str, ...] = ("application/json",)


def operation(
    summary: str,
    *,
    ok: Mapping[int, type[BaseModel] | None],
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    security: str | None = None,
    description: str | None = None,
    links: Mapping[int, Mapping[str, Any]] | None = None,
    body_media: tuple[str, ...] = ("application/json",),
) -> Callable[[F], F]:
    """Attach the operation's contract to its view (put it right under the route)."""
    declared = sorted({*errors, *((400, 413, 415, 422) if body is not None else ())})
    if query is not None:
        declared = sorted({*declared, 422})
    contract = Operation(
        summary, ok, tuple(declared), body, query, security, description, links or {}, body_media
    )

    def attach(view: F) -> F:
        view.__contract__ = contract  # type: ignore[attr-defined]
        return view

    return attach


def contract_of(view: Callable[..., Any]) -> Operation | None:
    found = getattr(view, "__contract__", None)
    return found if isinstance(found, Operation) else None


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
}


def _fields(error: pydantic.ValidationError, prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        # Union members add their type name to the location; the field is what matters.
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
        name = prefix + _where(loc) if loc else (prefix.rstrip(".") or "body")
        message = _MESSAGES.get(item["type"]) or _message(item["msg"])
        fields.setdefault(name, message)
    return fields


def _message(text: str) -> str:
    text = re.sub(r"^(Value error|Assertion failed), ", "", text)
    return text[:1].lower() + text[1:]


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 415/400 that says what is wrong."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by ``model``: 415 not JSON, 400 malformed (or an
    unknown field where the model says so), 422 with ``fields`` for the rest."""
    raw = json_object()
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as error:
        status = getattr(model, "unknown_field_status", 422)
        unknown = sorted(_where(e["loc"]) for e in error.errors() if e["type"] == "extra_forbidden")
        if unknown and status == 400:
            raise BadRequest(f"unknown field(s): {', '.join(unknown)}") from None
        raise ValidationError(_fields(error)) from None


def parse_query(model: type[M]) -> M:
    """The query string validated by ``model`` (422 with ``fields``, never a 500)."""
    names = [f.alias or name for name, f in model.model_fields.items()]
    values = {name: request.args.get(name) for name in names}
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except pydantic.ValidationError as error:
        raise ValidationError(_fields(error)) from None
