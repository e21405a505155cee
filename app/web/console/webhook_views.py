"""Console pages of a program's webhook endpoints: add (the secret shown once), enable,
disable, delete, and each endpoint's delivery log with a "send again" button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import webhooks
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import _program
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid
from app.webhooks import rules

if TYPE_CHECKING:
    from app.loyalty.models import Program
    from app.webhooks.models import WebhookEndpoint

ROLES = ("admin", "marketer")


def _endpoint(program: Program, endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhooks.get(db(), program, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _list(program: Program, status: int = 200, **context: object) -> Response:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    return page(
        "console/webhooks.html",
        status,
        program=program,
        endpoints=webhooks.endpoints(db(), program),
        events=rules.EVENTS,
        **context,
    )


def _back(slug: str) -> Response:
    return redirect(url_for("console.webhook_list", slug=slug), code=303)  # type: ignore[return-value]


@bp.get("/programs/<slug>/webhooks")
@require(*ROLES)
def webhook_list(slug: str) -> Response:
    return _list(_program(slug))


@bp.post("/programs/<slug>/webhooks")
@require(*ROLES)
def webhook_add(slug: str) -> Response:
    program = _program(slug)
    values = {"url": request.form.get("url", ""), "events": request.form.getlist("events")}
    if not csrf_valid():
        return _list(
            program,
            400,
            values=values,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    try:
        created = webhooks.create(
            db(),
            services().clock,
            program,
            values["url"],
            values["events"],
            current_staff() or "console",
            production=services().settings.is_production,
        )
    except ValidationError as exc:
        return _list(
            program,
            422,
            values=values,
            errors=exc.fields,
            notice=_("Please correct the fields below."),
        )
    # Rendered, not redirected: the secret must not survive in a session or a URL.
    return _list(program, 201, secret=created.secret, new_id=created.endpoint.public_id)


@bp.post("/programs/<slug>/webhooks/<endpoint_id>/<any(enable,disable,delete):action>")
@require(*ROLES)
def webhook_change(slug: str, endpoint_id: str, action: str) -> Response:
    program = _program(slug)
    endpoint = _endpoint(program, endpoint_id)
    if not csrf_valid():
        flash(_("The form has expired. Please check the values and send it again."))
        return _back(slug)
    actor = current_staff() or "console"
    if action == "delete":
        webhooks.remove(db(), services().clock, program, endpoint, actor)
        flash(_("Endpoint deleted."))
    else:
        webhooks.set_enabled(db(), services().clock, program, endpoint, action == "enable", actor)
        flash(_("Saved."))
    return _back(slug)


@bp.get("/programs/<slug>/webhooks/<endpoint_id>")
@require(*ROLES)
def webhook_log(slug: str, endpoint_id: str) -> Response:
    program = _program(slug)
    endpoint = _endpoint(program, endpoint_id)
    return page(
        "console/webhook_log.html",
        program=program,
        endpoint=endpoint,
        deliveries=webhooks.deliveries(db(), endpoint),
        size=rules.LOG_SIZE,
    )


@bp.post("/programs/<slug>/webhooks/<endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@require(*ROLES)
def webhook_redeliver(slug: str, endpoint_id: str, delivery_id: int) -> Response:
    program = _program(slug)
    endpoint = _endpoint(program, endpoint_id)
    if csrf_valid():
        try:
            found = webhooks.redeliver(
                db(), services().clock, program, endpoint, delivery_id, current_staff() or "console"
            )
        except webhooks.RedeliveryRefusedError:
            flash(_("The endpoint is disabled: enable it first."))
        else:
            if found is None:
                abort(404)
            flash(_("Queued: it is sent again in a moment."))
    else:
        flash(_("The form has expired. Please check the values and send it again."))
    target = url_for("console.webhook_log", slug=slug, endpoint_id=endpoint_id)
    return redirect(target, code=303)  # type: ignore[return-value]
