"""Admins' staff page: accounts with their programs, disable/enable, a new password,
API tokens and their revocation. Every change ends the user's sessions where it must
and is in the audit log."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import staff, staff_scope
from app.staff.errors import StaffStateError
from app.staff.models import StaffUser
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.console.texts import tx
from app.web.db import db, services
from app.web.i18n import current_locale
from app.web.security import csrf_valid

TEXTS = {
    "title": {"en": "Staff", "ru": "Сотрудники"},
    "role.admin": {"en": "admin", "ru": "администратор"},
    "role.marketer": {"en": "marketer", "ru": "маркетолог"},
    "role.store_manager": {"en": "store manager", "ru": "управляющий магазином"},
    "all_programs": {"en": "all programs", "ru": "все программы"},
    "no_programs": {"en": "no program yet", "ru": "пока ни одной программы"},
    "enabled": {"en": "active", "ru": "активен"},
    "disabled": {"en": "disabled", "ru": "отключён"},
    "failed": {"en": "wrong passwords since last sign-in", "ru": "неверных паролей с входа"},
    "disable": {"en": "Disable", "ru": "Отключить"},
    "enable": {"en": "Enable", "ru": "Включить"},
    "password": {"en": "New password", "ru": "Новый пароль"},
    "password_again": {"en": "Repeat it", "ru": "Повторите"},
    "set_password": {"en": "Set password", "ru": "Сменить пароль"},
    "tokens": {"en": "API tokens", "ru": "API-токены"},
    "revoke": {"en": "Revoke", "ru": "Отозвать"},
    "revoked": {"en": "revoked", "ru": "отозван"},
    "no_tokens": {"en": "none", "ru": "нет"},
    "saved": {
        "en": "Saved. The user's open sessions have ended where needed.",
        "ru": "Сохранено. Открытые сеансы сотрудника завершены, где это нужно.",
    },
    "differ": {"en": "The two passwords differ.", "ru": "Пароли не совпадают."},
    "weak": {
        "en": "The password is too weak: at least 12 characters, not the e-mail name.",
        "ru": "Слишком простой пароль: не меньше 12 символов и без имени из e-mail.",
    },
    "last_admin": {
        "en": "The last active admin cannot be disabled.",
        "ru": "Нельзя отключить последнего активного администратора.",
    },
}


def sx(key: str) -> str:
    return TEXTS[key][current_locale()]


def _page(status: int = 200, notice: str | None = None) -> Response:
    session = db()
    rows = [
        (user, staff_scope.programs_of(session, user), staff.list_tokens(session, user))
        for user in staff.list_users(session)
    ]
    return page("console/staff.html", status, rows=rows, notice=notice, sx=sx)


def _target(user_id: int) -> StaffUser:
    user = db().get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _done() -> Response:
    flash(sx("saved"))
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
        return _page(400, tx("form.expired"))
    try:
        staff.set_disabled(db(), services().clock, user, disabled, current_staff() or "console")
    except StaffStateError:
        return _page(409, sx("last_admin"))
    return _done()


@bp.post("/staff/<int:user_id>/password")
@require("admin")
def staff_password(user_id: int) -> Response:
    user = _target(user_id)
    if not csrf_valid():
        return _page(400, tx("form.expired"))
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return _page(422, sx("differ"))
    try:
        staff.change_password(db(), services().clock, user, password, current_staff() or "console")
    except ValidationError:
        return _page(422, sx("weak"))
    return _done()


@bp.post("/staff/tokens/<int:token_id>/revoke")
@require("admin")
def staff_revoke_token(token_id: int) -> Response:
    if not csrf_valid():
        return _page(400, tx("form.expired"))
    try:
        staff.revoke_token(db(), services().clock, token_id, current_staff() or "console")
    except StaffStateError:
        abort(404)
    return _done()
