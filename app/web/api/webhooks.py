"""Staff API: a program's webhook endpoints and their delivery logs (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from werkzeug.exceptions import Conflict, NotFound

from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.services import webhooks
from app.web.api import bp
from app.web.api.crm import _program, staff_api
from app.web.api.views import json_object
from app.web.db import db, services
from app.webhooks import rules
from app.webhooks.models import WebhookEndpoint

ROLES = ("admin", "marketer")
CREATE_FIELDS = {"url", "events"}
UPDATE_FIELDS = {"url", "events", "enabled"}


def _endpoint(program: Program, endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhooks.get(db(), program, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError({name: "is not a field of this request" for name in unknown})


@bp.get("/programs/<slug>/webhooks")
@staff_api(*ROLES)
def list_webhooks(slug: str) -> Response:
    program = _program(slug)
    return jsonify({"webhooks": [webhooks.as_json(e) for e in webhooks.endpoints(db(), program)]})


@bp.post("/programs/<slug>/webhooks")
@staff_api(*ROLES)
def create_webhook(slug: str) -> tuple[Response, int]:
    body = json_object()
    _unknown(body, CREATE_FIELDS)
    program = _program(slug)
    created = webhooks.create(
        db(),
        services().clock,
        program,
        body.get("url"),
        body.get("events"),
        g.staff,
        production=services().settings.is_production,
    )
    # The only answer that carries the secret.
    return jsonify({**webhooks.as_json(created.endpoint), "secret": created.secret}), 201


@bp.get("/programs/<slug>/webhooks/<endpoint_id>")
@staff_api(*ROLES)
def get_webhook(slug: str, endpoint_id: str) -> Response:
    return jsonify(webhooks.as_json(_endpoint(_program(slug), endpoint_id)))


@bp.patch("/programs/<slug>/webhooks/<endpoint_id>")
@staff_api(*ROLES)
def update_webhook(slug: str, endpoint_id: str) -> Response:
    body = json_object()
    _unknown(body, UPDATE_FIELDS)
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
@staff_api(*ROLES)
def delete_webhook(slug: str, endpoint_id: str) -> tuple[str, int]:
    program = _program(slug)
    webhooks.remove(db(), services().clock, program, _endpoint(program, endpoint_id), g.staff)
    return "", 204


@bp.get("/programs/<slug>/webhooks/<endpoint_id>/deliveries")
@staff_api(*ROLES)
def list_deliveries(slug: str, endpoint_id: str) -> Response:
    endpoint = _endpoint(_program(slug), endpoint_id)
    return jsonify(
        {"deliveries": [webhooks.delivery_json(d) for d in webhooks.deliveries(db(), endpoint)]}
    )


@bp.post("/programs/<slug>/webhooks/<endpoint_id>/deliveries/<int:delivery_id>/redeliver")
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


def openapi_paths(
    op: Any, json: Any, path: Any, obj: Any, str_: Any, int_: Any, bool_: Any
) -> dict[str, Any]:
    """The OpenAPI entries of the webhook routes (merged into openapi.document)."""
    nstr = {"type": ["string", "null"]}
    events = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"enum": list(rules.EVENTS)},
    }
    url = {
        "type": "string",
        "minLength": 1,
        "maxLength": 512,
        "description": "https:// to a public address in production (http and loopback "
        "also in development and test); no credentials or fragment",
    }
    endpoint = obj(
        ["id", "url", "events", "enabled", "disabled_reason", "created_at"],
        id=str_,
        url=str_,
        events=events,
        enabled=bool_,
        disabled_reason={"enum": ["staff", "failures", None]},
        disabled_at=nstr,
        failing_since=nstr,
        created_at=str_,
    )
    created = {
        **endpoint,
        "required": [*endpoint["required"], "secret"],
        "properties": {
            **endpoint["properties"],
            "secret": {**str_, "description": "the signing key; shown only in this answer"},
        },
    }
    delivery = obj(
        ["id", "event_id", "event", "status", "attempts", "created_at"],
        id=int_,
        event_id=str_,
        event={"enum": list(rules.EVENTS)},
        status={"enum": ["pending", "delivered", "failed"]},
        attempts=int_,
        created_at=str_,
        last_attempt_at=nstr,
        next_attempt_at=nstr,
        delivered_at=nstr,
        response_status={"type": ["integer", "null"]},
        error=nstr,
        response_excerpt=nstr,
    )
    slug, endpoint_id = path("slug"), path("endpoint_id")
    base = "/api/v1/programs/{slug}/webhooks"
    common = {"security": "staff"}
    return {
        base: {
            "get": op(
                "The program's webhook endpoints",
                json(
                    "200",
                    "Endpoints",
                    obj(["webhooks"], webhooks={"type": "array", "items": endpoint}),
                ),
                401,
                403,
                404,
                params=[slug],
                **common,
            ),
            "post": op(
                "Add a webhook endpoint; the answer carries its signing secret, once",
                json("201", "Added", created),
                400,
                401,
                403,
                404,
                415,
                422,
                params=[slug],
                body=obj(["url", "events"], url=url, events=events),
                **common,
            ),
        },
        base + "/{endpoint_id}": {
            "get": op(
                "One webhook endpoint",
                json("200", "Endpoint", endpoint),
                401,
                403,
                404,
                params=[slug, endpoint_id],
                **common,
            ),
            "patch": op(
                "Change the URL or events, or disable / enable (enabling clears a failure streak)",
                json("200", "Endpoint", endpoint),
                400,
                401,
                403,
                404,
                415,
                422,
                params=[slug, endpoint_id],
                body=obj([], url=url, events=events, enabled=bool_),
                **common,
            ),
            "delete": {
                **op(
                    "Delete the endpoint and its delivery log",
                    {"204": {"description": "Deleted"}},
                    401,
                    403,
                    404,
                    params=[slug, endpoint_id],
                    **common,
                ),
            },
        },
        base + "/{endpoint_id}/deliveries": {
            "get": op(
                f"The endpoint's last {rules.LOG_SIZE} deliveries, newest first",
                json(
                    "200",
                    "Deliveries",
                    obj(["deliveries"], deliveries={"type": "array", "items": delivery}),
                ),
                401,
                403,
                404,
                params=[slug, endpoint_id],
                **common,
            )
        },
        base + "/{endpoint_id}/deliveries/{delivery_id}/redeliver": {
            "post": op(
                "Send a delivery once more, now (one try)",
                json("202", "Queued", delivery),
                401,
                403,
                404,
                409,
                params=[slug, endpoint_id, {**path("delivery_id"), "schema": int_}],
                **common,
            )
        },
    }
