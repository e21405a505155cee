"""The OpenAPI document is valid and lists every JSON API route the app serves."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_the_document_is_valid_openapi(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.json)  # raises on any error


def test_every_api_route_is_documented(app: Flask, client: FlaskClient) -> None:
    documented = {
        (path, method.upper())
        for path, item in client.get("/api/v1/openapi.json").json["paths"].items()  # type: ignore[index]
        for method in item
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in ("/api/v1/openapi.json", "/api/docs"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                served.add((path, method))
    assert served == documented
