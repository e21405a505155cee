"""Figures of POS answers as text in the request's language, formatted as the console
formats them (Babel: "1 338,00 ₽"), so the cashier page needs no formatter of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import g, request

from app.i18n.formats import NBSP
from app.services.till import PurchaseResult, RefundResult
from app.web.i18n import LOCALES, money, number

if TYPE_CHECKING:
    from app.till.models import Terminal


def answer_locale(t: Terminal) -> str:
    """The language of this answer (Accept-Language, else the program's); also makes
    the console formatters use it."""
    locale = request.accept_languages.best_match(LOCALES) or t.program.default_locale
    g.locale = locale
    return locale


def percent_text(value: float) -> str:
    text = number(value, 2)
    if "," in text or "." in text:
        text = text.rstrip("0").rstrip(",.")
    return text + NBSP + "%"


def texts(
    t: Terminal, *, minor: dict[str, int | None], points: dict[str, int | None]
) -> dict[str, str]:
    """``minor`` amounts as money in the program's currency, ``points`` as numbers."""
    answer_locale(t)
    shown = {name: money(value, t.program.currency) for name, value in minor.items()}
    shown.update({name: number(value) for name, value in points.items()})
    return shown


def purchase_answer(t: Terminal, result: PurchaseResult) -> dict[str, object]:
    answer = result.as_json()
    answer["display"] = texts(
        t,
        minor={
            "discount_amount": result.discount_amount,
            "points_value": result.points_redeemed * t.program.point_value_minor,
            "amount_due": result.amount_due,
        },
        points={
            "points_redeemed": result.points_redeemed,
            "points_earned": result.points_earned,
            "balance": result.balance,
        },
    )
    return answer


def refund_answer(t: Terminal, result: RefundResult) -> dict[str, object]:
    answer = result.as_json()
    answer["display"] = texts(
        t,
        minor={"amount": result.amount, "money_back": result.money_back},
        points={
            "points_returned": result.points_returned,
            "points_taken_back": result.points_taken_back,
            "points_shortfall": result.points_shortfall,
            "balance": result.balance,
        },
    )
    return answer
