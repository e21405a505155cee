"""Staff API: a program's webhook endpoints and their delivery logs (docs/webhooks.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from flask import Response, g, jsonify
from pydantic import Field
from werkzeug.exceptions import Conflict, NotFound

from app.services import webhooks
from app.web.api import bp
from app.web.api.crm import _program, staff_api
from app.web.contract import Answer, Body, operation, parse_body
from app.web.db import db, services
from app.webhooks import rules

if TYPE_CHECKING:
    from app.loyalty.models import Program
    from app.webhooks.models import WebhookEndpoint

ROLES = ("admin", "marketer")
ERRORS = (401, 403, 404)


# -- the contract ---------------------------------------------------------------------

_EVENT = "(" + "|".join(re.escape(e) for e in rules.EVENTS) + ")"
Events = (
    Annotated[
        list[Literal[rules.EVENTS]],  # type: ignore[valid-type]
        Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    ]
    | Annotated[
        str,
        Field(
            pattern=rf"^ *{_EVENT}( *, *{_EVENT})* *$",
            description="the same as a comma-separated text",
        ),
    ]
)
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        description="https:// to a public address in production (http and loopback also in "
        "development and test); no credentials or fragment",
    ),
]


class CreateBody(Body):
    url: Url
    events: Events


class UpdateBody(Body):
    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = None


class Endpoint(Answer):
    id: str
    url: str
    events: list[Literal[rules.EVENTS]]  # type: ignore[valid-type]
    enabled: bool
    disabled_reason: Literal["staff", "failures"] | None
    disabled_at: str | None
    failing_since: str | None
    created_at: str


class CreatedEndpoint(Endpoint):
    secret: str = Field(description="the signing key; shown only in this answer")


class EndpointList(Answer):
    webhooks: list[Endpoint]


class Delivery(Answer):
    id: int
    event_id: str
    event: Literal[rules.EVENTS]  # type: ignore[valid-type]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: str
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    response_status: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryList(Answer):
    deliveries: list[Delivery]


def _endpoint(program: Program, endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhooks.get(db(), program, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


@bp.get("/programs/<slug>/webhooks")
@operation(
    "The program's webhook endpoints", ok={200: EndpointList}, errors=ERRORS, security="staff"
)
@staff_api(*ROLES)
def list_webhooks(slug: str) -> Response:
    program = _program(slug)
    return jsonify({"webhooks": [webhooks.as_json(e) for e in webhooks.endpoints(db(), program)]})


@bp.post("/programs/<slug>/webhooks")
@operation(
    "Add a webhook endpoint; the answer carries its signing secret, once",
    body=CreateBody,
    ok={201: CreatedEndpoint},
    errors=ERRORS,
    security="staff",
)
@staff_api(*ROLES)
def create_webhook(slug: str) -> tuple[Response, int]:
    body = parse_body(CreateBody)
    program = _program(slug)
    created = webhooks.create(
        db(),
        services().clock,
        program,
        body.url,
        body.events,
        g.staff,
        production=services().settings.is_production,
    )
    # The only answer that carries the secret.
    return jsonify({**webhooks.as_json(created.endpoint), "secret": created.secret}), 201


@bp.get("/programs/<slug>/webhooks/<endpoint_id>")
@operation("One webhook endpoint", ok={200: Endpoint}, errors=ERRORS, security="staff")
@staff_api(*ROLES)
def get_webhook(slug: str, endpoint_id: str) -> Response:
    return jsonify(webhooks.as_json(_endpoint(_program(slug), endpoint_id)))


@bp.patch("/programs/<slug>/webhooks/<endpoint_id>")
@operation(
    "Change the URL or events, or disable / enable (enabling clears a failure streak)",
    body=UpdateBody,
    ok={200: Endpoint},
    errors=ERRORS,
    security="staff",
)
@staff_api(*ROLES)
def update_webhook(slug: str, endpoint_id: str) -> Response:
    body = parse_body(UpdateBody).model_dump(exclude_none=True)
    program = _program(slug)
    endpoint = webhooks.update(
        db(),
        services().clock,
        program,
        _endpoint(program, endpoint_id),
        body,
        g.staff,
        production=services().settings.is_production,
    )
    return jsonify(webhooks.as_json(endpoint))


@bp.delete("/programs/<slug>/webhooks/<endpoint_id>")
@operation(
    "Delete the endpoint and its delivery log", ok={204: None}, errors=ERRORS, security="staff"
)
@staff_api(*ROLES)
def delete_webhook(slug: str, endpoint_id: str) -> tuple[str, int]:
    program = _program(slug)
    webhooks.remove(db(), services().clock, program, _endpoint(program, endpoint_id), g.staff)
    return "", 204


@bp.get("/programs/<slug>/webhooks/<endpoint_id>/deliveries")
@operation(
    f"The endpoint's last {rules.LOG_SIZE} deliveries, newest first",
    ok={200: DeliveryList},
    errors=ERRORS,
    security="staff",
)
@staff_api(*ROLES)
def list_deliveries(slug: str, endpoint_id: str) -> Response:
    endpoint = _endpoint(_program(slug), endpoint_id)
    return jsonify(
        {"deliveries": [webhooks.delivery_json(d) for d in webhooks.deliveries(db(), endpoint)]}
    )


@bp.post("/programs/<slug>/webhooks/<endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@operation(
    "Send a delivery once more, now (one try)",
    ok={202: Delivery},
    errors=(*ERRORS, 409),
    security="staff",
)
@staff_api(*ROLES)
def redeliver(slug: str, endpoint_id: str, delivery_id: int) -> tuple[Response, int]:
    program = _program(slug)
    endpoint = _endpoint(program, endpoint_id)
    try:
        delivery = webhooks.redeliver(
            db(), services().clock, program, endpoint, delivery_id, g.staff
        )
    except webhooks.RedeliveryRefusedError:
        raise Conflict("the endpoint is disabled: enable it first") from None
    if delivery is None:
        raise NotFound("no such delivery of this endpoint")
    return jsonify(webhooks.delivery_json(delivery)), 202
