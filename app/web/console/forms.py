"""Presentation helpers shared by the marketer pages: the program in the URL, rendering
with the console's helpers, and the segment filter widgets <-> the segment JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, abort, render_template, request
from werkzeug.datastructures import MultiDict

from app.bounds import MAX_MONEY, whole_number
from app.campaigns.segments import STAGES, WALLET_CHOICES, Segment
from app.loyalty.errors import ValidationError
from app.services import staff_scope
from app.web.console.auth import current_staff
from app.web.console.texts import field_message, helpers, money, month_name, text_for
from app.web.i18n import _, current_locale, other_locale
from app.web.security import csrf_token

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.loyalty.models import Program
    from app.staff.models import StaffUser

WHOLE_FILTERS = ("store_id", "last_purchase_within_days", "no_purchase_for_days")
MONEY_FILTERS = ("min_spend", "max_spend")
LINE_FILTERS = ("bought", "not_bought")  # one row of widgets each: category, size, sku, days
LINE_WIDGETS = ("category", "size", "sku", "days")
SEGMENT_FIELDS = (
    "stages",
    "tiers",
    "birthday_month",
    *WHOLE_FILTERS,
    *MONEY_FILTERS,
    "wallet",
    *(f"{kind}_{w}" for kind in LINE_FILTERS for w in LINE_WIDGETS),
)
CAMPAIGN_ROLES = ("admin", "marketer")
DASHBOARD_ROLES = ("admin", "marketer", "store_manager")

FormValues = MultiDict[str, str]  # a request's args or form


def page(template: str, status: int = 200, **context: Any) -> Response:
    user = current_staff()
    args = request.args.copy()
    args["lang"] = other_locale()
    html = render_template(
        template,
        user=user,
        csrf=csrf_token(),
        can_campaign=user is not None and user.role in CAMPAIGN_ROLES,
        stages=STAGES,
        wallets=WALLET_CHOICES,
        lang_url=f"{request.path}?{urlencode(list(args.items(multi=True)))}",
        **helpers(),
        **context,
    )
    return Response(html, status=status)


def _user() -> StaffUser:
    user = current_staff()
    if user is None:  # the views are behind require(): only a wiring mistake gets here
        abort(403)
    return user


def all_programs(session: Session) -> list[Program]:
    """The signed-in user's programs."""
    return staff_scope.programs_of(session, _user())


def program_named(session: Session, slug: str | None) -> Program:
    """The user's program of ``?program=`` (their first one when not given); 404 when
    unknown or not theirs."""
    program = staff_scope.program_for(session, _user(), slug)
    if program is None:
        abort(404)
    if request.method == "POST" and program.archived_at is not None:
        abort(
            409,
            description=_(
                "This program is archived: its pages are read-only. An admin can restore it."
            ),
        )
    return program


def minor_units(raw: str) -> int | None:
    """``"1 500,50"`` -> 150050; None when it is not an amount."""
    text = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) > MAX_MONEY:
        return None  # beyond any amount (and beyond what quantize can hold)
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def segment_from_form(values: FormValues) -> tuple[dict[str, Any], dict[str, str]]:
    """The widgets' values as segment JSON, and messages for values that are not numbers.

    Whether the numbers make sense is the domain's call (``Segment.from_json``)."""
    segment: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("stages", "tiers"):
        chosen = [v for v in values.getlist(name) if v]
        if chosen:
            segment[name] = chosen
    for name in ("birthday_month", *WHOLE_FILTERS):
        raw = (values.get(name) or "").strip()
        if raw:
            value = whole_number(raw)
            if value is None:
                errors[f"segment.{name}"] = _("Enter a whole number, 0 or more.")
            else:
                segment[name] = value
    for name in MONEY_FILTERS:
        raw = (values.get(name) or "").strip()
        if raw:
            amount = minor_units(raw)
            if amount is None:
                errors[f"segment.{name}"] = _("Enter an amount, e.g. 1500.")
            else:
                segment[name] = amount
    wallet = (values.get("wallet") or "").strip()
    if wallet:
        segment["wallet"] = wallet
    for kind in LINE_FILTERS:
        line: dict[str, Any] = {}
        for key in ("category", "size", "sku"):
            raw = (values.get(f"{kind}_{key}") or "").strip()
            if raw:
                line[key] = raw
        days = (values.get(f"{kind}_days") or "").strip()
        if days:
            try:
                line["within_days"] = int(days)
            except ValueError:
                errors[f"segment.{kind}"] = _("Enter a whole number, 0 or more.")
        if line:
            segment[kind] = [line]
    return segment, errors


def segment_errors(segment: dict[str, Any]) -> dict[str, str]:
    """The domain's objections to a segment, in the visitor's language, by field."""
    try:
        Segment.from_json(segment)
    except ValidationError as error:
        # A line filter's messages show under its row: segment.bought[0].size -> segment.bought.
        fields = {k.split("[")[0]: str(v) for k, v in error.fields.items()}
        return {k: field_message(k, v) for k, v in fields.items()}
    return {}


def read_segment(values: FormValues) -> tuple[dict[str, Any], dict[str, str]]:
    segment, errors = segment_from_form(values)
    checked = segment_errors({k: v for k, v in segment.items() if f"segment.{k}" not in errors})
    return segment, {**checked, **errors}


def describe_segment(segment: dict[str, Any], program: Program) -> list[str]:
    """Each filter of a stored segment as a short line a person reads."""
    stores = {s.id: s.name for s in program.stores}
    tiers = {t.code: t.name(current_locale()) for t in program.tiers}
    lines = []
    if segment.get("stages"):
        names = ", ".join(text_for(f"seg.stage.{s}") for s in segment["stages"])
        lines.append(f"{_('Lifecycle stage')}: {names}")
    if segment.get("tiers"):
        names = ", ".join(tiers.get(code, code) for code in segment["tiers"])
        lines.append(f"{_('Level')}: {names}")
    if segment.get("birthday_month"):
        lines.append(f"{_('Birthday month')}: {month_name(segment['birthday_month'])}")
    if segment.get("store_id") is not None:
        name = stores.get(segment["store_id"], f"#{segment['store_id']}")
        lines.append(f"{_('Bought at least once in')}: {name}")
    for name in ("last_purchase_within_days", "no_purchase_for_days"):
        if segment.get(name) is not None:
            lines.append(f"{text_for(f'seg.{name}')}: {segment[name]}")
    for name in MONEY_FILTERS:
        if segment.get(name) is not None:
            lines.append(f"{text_for(f'seg.{name}')}: {money(segment[name], program.currency)}")
    if segment.get("wallet"):
        lines.append(f"{_('Card in a wallet')}: {text_for('seg.wallet.' + segment['wallet'])}")
    for kind in LINE_FILTERS:
        for line in segment.get(kind) or ():
            parts = [
                f"{text_for('seg.line.' + k)} {line[k]}"
                for k in ("category", "size", "sku")
                if k in line
            ]
            if line.get("within_days"):
                parts.append(_("within {days} days", days=line["within_days"]))
            lines.append(f"{text_for('seg.' + kind)}: {', '.join(parts)}")
    return lines or [_("all active cards")]
