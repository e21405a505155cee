"""Admins' staff page: new accounts, roles, the programs (and a store manager's stores)
each works on, disable/enable, a new password, API tokens and their revocation. Every
change ends the user's sessions where it must and is in the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import program_admin, staff, staff_scope
from app.staff.errors import StaffStateError
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _, lazy_pgettext, service_error
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program, Store
    from app.staff.models import StaffUser


FIELD_ERRORS = {
    "email": lazy_pgettext("field error", "Enter an e-mail that no staff member has yet"),
    "name": lazy_pgettext("field error", "Enter a name (up to 100 characters)"),
    "role": lazy_pgettext("field error", "Choose a role"),
    "password": lazy_pgettext(
        "field error", "At least 10 characters and not from the list of common passwords"
    ),
    "password_again": lazy_pgettext("field error", "The passwords do not match"),
    "programs": lazy_pgettext(
        "field error", "An admin works with all programs: there is nothing to assign"
    ),
    "stores": lazy_pgettext(
        "field error", "Stores are assigned to store managers only, and only from their programs"
    ),
}


def staff_error(key: str, english: str) -> str:
    return service_error(english, FIELD_ERRORS.get(key))


def _page(
    status: int = 200,
    notice: str | None = None,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    session = db()
    rows = [
        (
            user,
            staff_scope.programs_of(session, user),
            staff.list_tokens(session, user),
            staff_scope.store_ids(session, user) or set(),
        )
        for user in staff.list_users(session)
    ]
    return page(
        "console/staff.html",
        status,
        rows=rows,
        notice=notice,
        roles=staff.ROLES,
        all_programs=program_admin.list_programs(session),
        values=values or {},
        errors=errors or {},
        staff_error=staff_error,
    )


def _target(user_id: int) -> StaffUser:
    user = staff.user_by_id(db(), user_id)
    if user is None:
        abort(404)
    return user


def _done() -> Response:
    flash(_("Saved. The user's open sessions have ended where needed."))
    return redirect(url_for("console.staff_list"), code=303)  # type: ignore[return-value]


@bp.get("/staff")
@require("admin")
def staff_list() -> Response:
    return _page()


@bp.post("/staff/<int:user_id>/disable")
@require("admin")
def staff_disable(user_id: int) -> Response:
    return _set_disabled(user_id, True)


@bp.post("/staff/<int:user_id>/enable")
@require("admin")
def staff_enable(user_id: int) -> Response:
    return _set_disabled(user_id, False)


def _set_disabled(user_id: int, disabled: bool) -> Response:
    user = _target(user_id)
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    try:
        staff.set_disabled(db(), services().clock, user, disabled, current_staff() or "console")
    except StaffStateError:
        return _page(409, _("The last active admin cannot be disabled."))
    return _done()


@bp.post("/staff/<int:user_id>/password")
@require("admin")
def staff_password(user_id: int) -> Response:
    user = _target(user_id)
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return _page(422, _("The two passwords differ."))
    try:
        staff.change_password(db(), services().clock, user, password, current_staff() or "console")
    except ValidationError:
        return _page(
            422, _("The password is too weak: at least 10 characters and not a common password.")
        )
    return _done()


@bp.post("/staff/new")
@require("admin")
def staff_add() -> Response:
    form = request.form
    values: dict[str, object] = {
        "email": form.get("email", ""),
        "name": form.get("name", ""),
        "role": form.get("role", ""),
        "programs": form.getlist("programs"),
    }
    if not csrf_valid():
        return _page(
            400, _("The form has expired. Please check the values and send it again."), values
        )
    password = form.get("password", "")
    if password != form.get("password_again", ""):
        return _page(
            422,
            _("Please correct the fields below."),
            values,
            {"password_again": "the passwords differ"},
        )
    session = db()
    chosen = _programs(form.getlist("programs"))
    try:
        staff.add_user(
            session,
            services().clock,
            email=str(values["email"]),
            name=str(values["name"]),
            role=str(values["role"]),
            password=password,
            actor=current_staff() or "console",
            programs=chosen,
        )
    except ValidationError as exc:
        return _page(422, _("Please correct the fields below."), values, exc.fields)
    flash(_("The account is created; give the person their password in person."))
    return redirect(url_for("console.staff_list"), code=303)  # type: ignore[return-value]


def _programs(slugs: list[str]) -> list[Program]:
    by_slug = {p.slug: p for p in program_admin.list_programs(db())}
    return [by_slug[s] for s in dict.fromkeys(slugs) if s in by_slug]


@bp.post("/staff/<int:user_id>/role")
@require("admin")
def staff_role(user_id: int) -> Response:
    user = _target(user_id)
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    try:
        staff.change_role(
            db(), services().clock, user, request.form.get("role", ""), current_staff() or "console"
        )
    except ValidationError as exc:
        return _page(422, _("Please correct the fields below."), errors=exc.fields)
    except StaffStateError:
        return _page(409, _("The last active admin keeps the admin role."))
    return _done()


@bp.post("/staff/<int:user_id>/scope")
@require("admin")
def staff_scope_set(user_id: int) -> Response:
    user = _target(user_id)
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    chosen = _programs(request.form.getlist("programs"))
    stores: list[Store] = []
    for value in request.form.getlist("stores"):
        slug, _sep, code = value.partition("/")
        program = next((p for p in chosen if p.slug == slug), None)
        store = next((s for s in program.stores if s.code == code), None) if program else None
        if store is None:
            return _page(
                422, _("Please correct the fields below."), errors={"stores": "unknown store"}
            )
        stores.append(store)
    try:
        staff_scope.set_scope(
            db(), services().clock, user, chosen, stores, current_staff() or "console"
        )
    except ValidationError as exc:
        return _page(422, _("Please correct the fields below."), errors=exc.fields)
    return _done()


@bp.post("/staff/tokens/<int:token_id>/revoke")
@require("admin")
def staff_revoke_token(token_id: int) -> Response:
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    try:
        staff.revoke_token(db(), services().clock, token_id, current_staff() or "console")
    except StaffStateError:
        abort(404)
    return _done()
