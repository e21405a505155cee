"""Texts of the card-care forms on a card's page, and readable labels for the codes the
member and card tables would otherwise show (stages, ledger kinds, references)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import request

from app.web.console.texts import text_for
from app.web.i18n import N_, _

if TYPE_CHECKING:
    from app.loyalty.models import Card

CARE_ROLES = ("admin", "store_manager")


KINDS = {
    "bonus": N_("bonus"),
    "earn": N_("earned"),
    "burn": N_("spent"),
    "expire": N_("expired"),
    "adjust": N_("adjusted by staff"),
    "refund": N_("refund"),
}

STAGES = {
    "newcomer": N_("Newcomer"),
    "active": N_("Active"),
    "at_risk": N_("At risk"),
    "lost": N_("Lost"),
}

REFERENCES = {
    "manual": N_("by hand"),
    "install": N_("card added to a wallet"),
    "import": N_("imported"),
    "birthday": N_("birthday {0}"),
    "campaign": N_("campaign #{0}"),
    "merge": N_("merge with card {0}"),
    "lot": N_("lot #{0}"),
    "receipt": N_("purchase #{0}"),
    "refund": N_("refund #{0}"),
}


def kind_label(kind: str) -> str:
    found = KINDS.get(kind)
    return kind if found is None else str(found)


def stage_label(stage: str | None) -> str:
    if stage is None:
        return "—"
    found = STAGES.get(stage)
    return stage if found is None else str(found)


def reference_label(reference: str | None) -> str:
    """``campaign:1`` as "кампания №1"; an unknown code is shown as it is."""
    if not reference:
        return ""
    name, _sep, rest = reference.partition(":")
    found = REFERENCES.get(name)
    if found is None:
        return reference
    return str(found).format(rest)


def helpers() -> dict[str, Any]:
    return {
        "kind_label": kind_label,
        "stage_label": stage_label,
        "reference_label": reference_label,
        "care_roles": CARE_ROLES,
    }


DONE = ("tier", "blocked", "active", "replaced", "phone", "merged", "link.sms", "link.email")


def done_notice(card: Card) -> str | None:
    """The notice for ``?done=`` after a redirect (an unknown value shows nothing)."""
    done = request.args.get("done", "")
    if done not in DONE:
        return None
    if done == "replaced":
        return _("Card replaced: new number {number}. The old card is void.", number=card.number)
    if done == "merged":
        points = request.args.get("points", "0")
        return _("Merged: {points} points moved here.", points=points if points.isdigit() else "0")
    return text_for(f"care.done.{done}")
