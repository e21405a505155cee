"""The OpenAPI 3.1 document of the JSON APIs, served at /api/v1/openapi.json, and /api/docs.

Built from the app's routes: a view with a contract (app.web.contract.operation) gives its
body, query, answers, errors and security; pydantic writes the schemas (JSON Schema 2020-12,
which OpenAPI 3.1 takes as is). A route without a contract may still merge hand-written
entries through LEGACY while it is being ported (a test refuses it for keeps).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.bounds import MAX_ID
from app.web.api import bp
from app.web.contract import ERROR_TEXT, Operation, contract_of

REF = "#/components/schemas/{model}"
ERROR = {"$ref": "#/components/schemas/Error"}
_ARG = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>")
_CONVERTERS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer", "minimum": 0},
    "path": {"type": "string", "minLength": 1},
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
}
UNDOCUMENTED = ("/api/v1/openapi.json", "/api/docs")
SECURITY = {
    "terminal": {"type": "http", "scheme": "bearer", "description": "terminal key (wpt_…)"},
    "staff": {"type": "http", "scheme": "bearer", "description": "staff API token (wps_…)"},
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "field (a.b[0].c) -> what is wrong with it",
                },
            },
        }
    },
}


def _routes(app: Flask) -> Iterator[tuple[str, str, str, Callable[..., Any], dict[str, Any]]]:
    """(OpenAPI path, method, endpoint, view, path parameter schemas) of each /api route."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in UNDOCUMENTED:
            continue
        params = {
            name: _CONVERTERS.get(kind or "default", _CONVERTERS["default"])
            for kind, name in _ARG.findall(rule.rule)
        }
        path = _ARG.sub(r"{\2}", rule.rule)
        for method in sorted(rule.methods or ()):
            if method not in ("HEAD", "OPTIONS"):
                yield path, method.lower(), rule.endpoint, app.view_functions[rule.endpoint], params


def _operation(
    endpoint: str, op: Operation, params: dict[str, Any], refs: dict[type[BaseModel], Any]
) -> dict[str, Any]:
    errors = set(op.errors)
    if params:
        errors.add(404)  # an unknown program, card, campaign...
    if op.security:
        errors.add(401)
    responses: dict[str, Any] = {}
    for status, model in sorted(op.ok.items()):
        answer: dict[str, Any] = {"description": "OK" if status < 300 else "Done"}
        if status == 200 and 201 in op.ok:
            answer["description"] = "The same request again: the first answer"
        if model is not None:
            answer["content"] = {"application/json": {"schema": refs[model]}}
        if status in op.links:
            answer["links"] = op.links[status]
        responses[str(status)] = answer
    for status in sorted(errors):
        responses[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": ERROR}},
            **({"headers": _RETRY_AFTER} if status == 429 else {}),
        }
    entry: dict[str, Any] = {"operationId": endpoint, "summary": op.summary, "responses": responses}
    if op.description:
        entry["description"] = op.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in params.items()
    ]
    if op.query is not None:
        query_schema = op.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", ()))
        for name, schema in query_schema["properties"].items():
            # Absent, not null: a query string has no null.
            options = [o for o in schema.pop("anyOf", ()) if o.get("type") != "null"]
            if len(options) == 1:
                schema.update(options[0])
            if "default" in schema and schema["default"] is None:
                del schema["default"]
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    if parameters:
        entry["parameters"] = parameters
    if op.body is not None or op.body_media != ("application/json",):
        schema = refs[op.body] if op.body is not None else {"type": "string", "format": "binary"}
        entry["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media in op.body_media},
        }
    if op.security:
        entry["security"] = [{op.security: []}]
    return entry


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def document(app: Flask) -> dict[str, Any]:
    routes = list(_routes(app))
    contracts = [(r, contract_of(r[3])) for r in routes]
    models: set[type[BaseModel]] = set()
    for _, op in contracts:
        if op is not None:
            models.update(m for m in (op.body, *op.ok.values()) if m is not None)
    ordered = sorted(models, key=lambda m: (m.__module__, m.__name__))
    keyed, top = models_json_schema(
        [(m, "validation") for m in ordered], ref_template=REF, title="walletpass"
    )
    refs = {m: keyed[(m, "validation")] for m in ordered}
    paths: dict[str, dict[str, Any]] = {}
    legacy = _legacy()
    for (path, method, endpoint, _view, params), op in contracts:
        if op is not None:
            paths.setdefault(path, {})[method] = _operation(endpoint, op, params, refs)
        elif method in legacy.get(path, {}):
            paths.setdefault(path, {})[method] = legacy[path][method]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "walletpass",
            "version": "1",
            "description": "Enrollment, till (POS) and CRM APIs. Amounts are minor units. "
            'Errors answer {"error": {"code", "message", "fields"?}}.',
        },
        "components": {
            "securitySchemes": SECURITY,
            "schemas": {**top.get("$defs", {}), "Error": ERROR_SCHEMA},
        },
        "paths": paths,
    }


def _cached() -> dict[str, Any]:
    """The document, built once per app (routes do not change after start)."""
    doc: dict[str, Any] | None = current_app.extensions.get("walletpass_openapi")
    if doc is None:
        doc = current_app.extensions["walletpass_openapi"] = document(current_app)
    return doc


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(_cached())


def docs_page() -> str:
    """The document as a page, rendered here (no script, no CDN: it keeps our CSP)."""
    doc = _cached()
    return render_template("api_docs.html", doc=doc, schemas=doc["components"]["schemas"])


# /api/docs sits outside the blueprint's /api/v1 prefix.
bp.record_once(lambda state: state.app.add_url_rule("/api/docs", "api_docs", docs_page))


# -- entries still written by hand ------------------------------------------------------
# A module whose routes carry no contract yet may add its hand-written paths here
# ({path: {method: operation}}); ported operations need none of this.
LEGACY: list[Callable[[], dict[str, dict[str, Any]]]] = []


def _legacy() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for entries in LEGACY:
        for path, item in entries().items():
            paths.setdefault(path, {}).update(item)
    return paths
