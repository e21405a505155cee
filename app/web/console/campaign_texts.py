"""Campaign texts looked up by a computed key (statuses, triggers) and the messages of
campaign fields; merged into ``texts.BY_KEY`` and ``texts.FIELD_MESSAGES``."""

from __future__ import annotations

from app.web.i18n import N_, LazyText

BY_KEY: dict[str, LazyText] = {
    "status.active": N_("on"),
    "status.stopped": N_("off"),
    "trigger.welcome": N_("Welcome (card installed)"),
    "trigger.birthday": N_("Birthday"),
    "trigger.win_back": N_("Win-back (member became at risk)"),
    "trigger.on": N_("Switch on"),
    "trigger.off": N_("Switch off"),
    "trigger.switched_on": N_("Switched on."),
    "trigger.switched_off": N_("Switched off."),
    "field.trigger_days": N_("Day relative to the birthday (-3: three days before, 0: on the day)"),
    "field.ends_at": N_("End date: the offer leaves the cards then (empty: it stays)"),
    "field.optional": N_("optional"),
    "progress.in_wallet": N_("In a wallet"),
}

FIELD_MESSAGES: dict[str, LazyText] = {
    "trigger_days": N_("From -30 to 30 days."),
    "ends_at": N_("Choose a time after the campaign starts (within two years)."),
    "trigger": N_("Choose from the list."),
}
