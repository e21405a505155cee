"""Console page where admins approve or reject point adjustments above a role's cap."""

from __future__ import annotations

from flask import Response, flash, redirect, url_for

from app.loyalty.errors import InsufficientPointsError, ValidationError
from app.services import adjustments, staff_scope
from app.staff.errors import StaffStateError
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _, current_locale
from app.web.security import csrf_valid

TEXTS = {
    "title": {"en": "Adjustments awaiting approval", "ru": "Изменения баллов на одобрении"},
    "lead": {
        "en": "Each role adjusts up to its cap alone (store manager {store_manager}, "
        "marketer {marketer}, admin {admin} points); above it another admin decides here.",
        "ru": "Каждая роль сама меняет баллы до своего предела (управляющий магазином "
        "{store_manager}, маркетолог {marketer}, администратор {admin}); больше — решает "
        "другой администратор здесь.",
    },
    "none": {"en": "Nothing is waiting.", "ru": "Ничего не ждёт одобрения."},
    "card": {"en": "Card", "ru": "Карта"},
    "points": {"en": "Points", "ru": "Баллы"},
    "reason": {"en": "Reason", "ru": "Причина"},
    "who": {"en": "Requested by", "ru": "Запросил"},
    "approve": {"en": "Approve", "ru": "Одобрить"},
    "reject": {"en": "Reject", "ru": "Отклонить"},
    "approved": {"en": "Approved: the points are on the card.", "ru": "Одобрено: баллы на карте."},
    "rejected": {"en": "Rejected.", "ru": "Отклонено."},
    "own": {
        "en": "Another admin must decide on your own request.",
        "ru": "Свой запрос должен одобрить другой администратор.",
    },
    "decided": {"en": "This request was already decided.", "ru": "По этому запросу уже решили."},
    "insufficient": {
        "en": "The card no longer has that many points.",
        "ru": "На карте уже нет столько баллов.",
    },
}


def at(key: str, **values: object) -> str:
    text = TEXTS[key][current_locale()]
    return text.format(**values) if values else text


def _page(status: int = 200, notice: str | None = None) -> Response:
    user = current_staff()
    assert user is not None  # require()
    return page(
        "console/adjustments.html",
        status,
        rows=adjustments.pending(db(), staff_scope.program_ids(db(), user)),
        notice=notice,
        at=at,
        caps=adjustments.CAPS,
    )


@bp.get("/adjustments")
@require("admin")
def adjustment_list() -> Response:
    return _page()


def _decide(pending_id: int, approve: bool) -> Response:
    user = current_staff()
    assert user is not None
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    try:
        if approve:
            adjustments.approve(db(), services().clock, pending_id, user)
        else:
            adjustments.reject(db(), services().clock, pending_id, user)
    except StaffStateError as exc:
        own = "your own" in str(exc)
        return _page(409, at("own") if own else at("decided"))
    except (InsufficientPointsError, ValidationError):
        return _page(409, at("insufficient"))
    flash(at("approved" if approve else "rejected"))
    return redirect(url_for("console.adjustment_list"), code=303)  # type: ignore[return-value]


@bp.post("/adjustments/<int:pending_id>/approve")
@require("admin")
def adjustment_approve(pending_id: int) -> Response:
    return _decide(pending_id, approve=True)


@bp.post("/adjustments/<int:pending_id>/reject")
@require("admin")
def adjustment_reject(pending_id: int) -> Response:
    return _decide(pending_id, approve=False)
