"""Texts the console looks up by a computed key, and how times read (numbers and money:
app.web.i18n, with Babel).

Every other console text is an ``_("...")`` call where it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_month_names

from app.web.console import campaign_texts
from app.web.i18n import (
    N_,
    LazyText,
    _,
    current_locale,
    lazy_pgettext,
    money,
    money_short,
    number,
    percent,
)

__all__ = ["money", "money_short", "number", "percent"]


BY_KEY: dict[str, LazyText] = {
    "seg.stages": N_("Lifecycle stage"),
    "seg.stage.newcomer": N_("Newcomer"),
    "seg.stage.active": N_("Active"),
    "seg.stage.at_risk": N_("At risk"),
    "seg.stage.lost": N_("Lost"),
    "seg.tiers": N_("Level"),
    "seg.birthday_month": N_("Birthday month"),
    "seg.store_id": N_("Bought at least once in"),
    "seg.any": N_("any"),
    "seg.bought": N_("Bought"),
    "seg.not_bought": N_("Did not buy"),
    "seg.line.category": N_("category"),
    "seg.line.size": N_("size"),
    "seg.line.sku": N_("SKU"),
    "seg.line.days": N_("within days"),
    "seg.line.within": N_("within {days} days"),
    "field.offer_fallback_en": N_("Offer when the size is unknown, English"),
    "field.offer_fallback_ru": N_("Offer when the size is unknown, Russian"),
    "field.size_category": N_("{size} is the size most bought in category (empty: any)"),
    "seg.last_purchase_within_days": N_("Bought within the last N days"),
    "seg.no_purchase_for_days": N_("No purchase for N days"),
    "seg.min_spend": N_("Spent at least, all time"),
    "seg.max_spend": N_("Spent at most, all time"),
    "seg.wallet": N_("Card in a wallet"),
    "seg.wallet.apple": N_("Apple Wallet"),
    "seg.wallet.google": N_("Google Wallet"),
    "seg.wallet.any": N_("in any wallet"),
    "seg.wallet.none": N_("in no wallet"),
    "seg.wallet.android_pkpass": N_("any Android .pkpass app"),
    "seg.wallet.apple_wallet": N_("Apple Wallet"),
    "seg.wallet.google_wallet": N_("Google Wallet"),
    "seg.wallet.walletpasses": N_("Wallet Passes"),
    "seg.wallet.passwallet": N_("PassWallet"),
    "seg.wallet.pass2u": N_("Pass2U Wallet"),
    "seg.wallet.passworks": N_("Passworks"),
    "seg.wallet.walletunion": N_("WalletUnion"),
    "seg.wallet.walletunion_hms": N_("WalletUnion (Huawei)"),
    "seg.wallet.passhub": N_("PassHub (Telegram)"),
    "seg.wallet.unknown": N_("another Android app"),
    "seg.error.choice": N_("Choose from the list."),
    "seg.error.whole": N_("Enter a whole number, 0 or more."),
    "seg.error.month": N_("Choose a month."),
    "seg.error.days": N_("Enter a whole number of days from 0 to 3650."),
    "seg.error.money": N_("Enter an amount from 0 to 1 000 000 000."),
    "status.draft": N_("draft"),
    "status.scheduled": N_("scheduled"),
    "status.sending": N_("sending"),
    "status.sent": N_("sent"),
    "status.cancelled": N_("cancelled"),
    "status.failed": N_("failed"),
    "field.name": N_("Campaign name (only staff see it)"),
    "field.offer_en": N_("Offer on the card, English"),
    "field.offer_ru": N_("Offer on the card, Russian"),
    "field.bonus_points": N_("Bonus points (0: none)"),
    "field.bonus_days": N_("Bonus valid for N days (empty: program rule)"),
    "field.holdout_percent": N_("Holdout: cards kept back to measure the effect, %"),
    "field.send": N_("When"),
    "field.send_now": N_("Send now"),
    "field.send_at": N_("At a date and time"),
    "progress.title": N_("Progress"),
    "progress.targets": lazy_pgettext("console.progress.targets", "Targets"),
    "progress.holdout": N_("Holdout"),
    "progress.skipped": N_("Skipped (frequency cap)"),
    "progress.applied": N_("Offer on the card"),
    "progress.pushed": N_("Updated on phones"),
    "progress.accepted": N_("Pushes accepted"),
    "progress.failed": N_("Pushes failed (retried)"),
    "progress.pruned": N_("Dead devices removed"),
    "report.targets": N_("Targeted cards"),
    "report.holdout": N_("Holdout cards"),
    "report.more": N_(
        "Each targeted card brought {amount} more than a held-out one (95 % CI {low}–{high})."
    ),
    "report.less": N_(
        "Each targeted card brought {amount} less than a held-out one (95 % CI {low}–{high})."
    ),
    "kpi.loyal_buyers": N_("Loyal buyers (vs previous)"),
    "kpi.loyal_revenue_share": N_("Loyal buyers' revenue share"),
    "kpi.repeat_purchase_share": N_("Repeat purchases, of card purchases"),
    "kpi.card_adoption": N_("Card in a wallet (of members)"),
    "kpi.automated_revenue": N_("Revenue from automated messages"),
    "trigger.welcome": N_("Welcome"),
    "trigger.birthday": N_("Birthday"),
    "trigger.win_back": N_("Win-back"),
    "kpi.receipts": N_("Receipts"),
    "kpi.receipts_with_card": N_("Receipts with a card"),
    "kpi.revenue": N_("Revenue"),
    "kpi.revenue_with_card": N_("Revenue with a card"),
    "kpi.average_check_with_card": N_("Average check, card"),
    "kpi.average_check_without_card": N_("Average check, no card"),
    "kpi.check_uplift": N_("Check uplift"),
    "kpi.card_revenue_share": N_("Revenue share of cards"),
    "kpi.card_penetration": N_("Card penetration"),
    "kpi.members_enrolled": N_("New members"),
    "kpi.conversion_first": N_("New members who bought"),
    "kpi.conversion_second": N_("…and bought again"),
    "kpi.repeat_share": N_("Repeat buyers"),
    "kpi.purchases_per_person": N_("Purchases per buyer"),
    "kpi.at_risk_share": N_("At risk of leaving"),
    "design.link": N_("card design"),
    "design.title": N_("Card design"),
    "design.lead": N_("Colours and texts of the card in Apple Wallet and Google Wallet."),
    "design.colors": N_("Colours"),
    "design.texts": N_("Offer and contacts"),
    "design.background_color": N_("Background"),
    "design.foreground_color": N_("Text"),
    "design.label_color": N_("Labels"),
    "design.offer_ru": N_("Offer in Russian"),
    "design.offer_en": N_("Offer in English"),
    "design.terms_url": N_("Program terms (web address)"),
    "design.website_url": N_("Website"),
    "design.support_phone": N_("Customer care phone"),
    "design.preview": N_("Preview"),
    "design.save": N_("Save"),
    "design.apple": N_("Apple Wallet"),
    "design.google": N_("Google Wallet"),
    "design.preview_alt": N_("Preview of the card in {wallet}"),
    "design.preview_note": N_("A sample card; the wallets draw the real one slightly differently."),
    "design.saved": N_("Saved: cards on phones will update in a few minutes."),
    "design.draft_pending": N_(
        "Card texts or images have unpublished changes; these previews show the published ones."
    ),
    "design.draft_review": N_("Review and publish"),
    "design.unchanged": N_("Nothing changed."),
    "design.error.color": N_("Enter a colour like #1A2B3C."),
    "design.error.control": N_(
        "Remove the control characters (invisible codes such as NUL or ESC)."
    ),
    "design.error.url": N_("Enter a web address starting with https://."),
    "design.error.phone": N_("Enter a phone number with 10 to 15 digits, e.g. +7 800 000-00-00."),
    "design.error.contrast.foreground": N_(
        "Text and background are too alike to read: contrast {ratio}:1, needs 3:1."
    ),
    "design.error.contrast.label": N_(
        "Labels and background are too alike to read: contrast {ratio}:1, needs 3:1."
    ),
    # card_care_texts
    "care.status.active": N_("active"),
    "care.status.blocked": N_("blocked"),
    "care.done.tier": N_("Level set."),
    "care.done.blocked": N_("Card blocked."),
    "care.done.active": N_("Card unblocked."),
    "care.done.replaced": N_("Card replaced: new number {number}. The old card is void."),
    "care.done.phone": N_("Phone changed."),
    "care.done.merged": N_("Merged: {points} points moved here."),
    "care.done.link.sms": N_("The card link goes out by SMS shortly."),
    "care.done.link.email": N_("The card link goes out by e-mail shortly."),
    # draft_views
    "draft.label": N_("Label"),
    "draft.back": N_("Back side"),
    "draft.kind.logo": N_("Logo"),
    "draft.kind.strip": N_("Strip"),
    "draft.kind.icon": N_("Icon"),
    "draft.image.new": N_("new picture"),
    "draft.image.template": N_("back to the template's"),
    "draft.lang.ru": N_("Russian"),
    "draft.lang.en": N_("English"),
    # invite_views
    "invite.sms": N_("SMS"),
    "invite.email": N_("E-mail"),
    "invite.source.site": N_("site"),
    "invite.source.till": N_("till"),
    "invite.source.import": N_("import"),
    "invite.source.console": N_("console"),
    "invite.source.all": N_("all"),
    "invite.channel.sms": N_("SMS"),
    "invite.channel.email": N_("e-mail"),
    "invite.channel.all": N_("total"),
    # program_views
    "program.grant.default": N_("every new card"),
    "program.grant.staff": N_("by staff, on evidence"),
    "program.grant.spend": N_("by total spend"),
    # staff_views
    "staff.role.admin": N_("admin"),
    "staff.role.marketer": N_("marketer"),
    "staff.role.store_manager": N_("store manager"),
    "staff.email": N_("E-mail (the login)"),
    "staff.name": lazy_pgettext("staff.name", "Name"),
    # store_views
    "store.label.code": N_("Code (latin, for reports)"),
    "store.label.name": N_("Name"),
    "store.label.address": N_("Address"),
    "store.label.timezone": N_("Time zone (empty: the program's)"),
    "store.label.latitude": N_("Latitude (optional)"),
    "store.label.longitude": N_("Longitude (optional)"),
    "store.label.relevant_text_ru": N_("Lock-screen text, Russian (optional)"),
    "store.label.relevant_text_en": N_("Lock-screen text, English (optional)"),
    # webhook_views
    "webhook.enable": N_("Enable"),
    "webhook.disable": lazy_pgettext("webhook.disable", "Disable"),
    "webhook.delete": N_("Delete"),
    "webhook.st.pending": N_("waiting for a retry"),
    "webhook.st.delivered": N_("delivered"),
    "webhook.st.failed": N_("not delivered"),
    # program_views
    "program.label.slug": N_("Short name for addresses (/join/…)"),
    "program.label.name": N_("Program name"),
    "program.label.brand_name": N_("Brand"),
    "program.label.timezone": N_("Time zone"),
    "program.label.currency": N_("Currency"),
    "program.label.default_locale": N_("Main language (ru or en)"),
    "program.label.earn_rate": N_("Points earned, % of the amount paid"),
    "program.label.redeem_share": N_("Points may pay up to, % of a purchase"),
    "program.label.point_value": N_("One point is worth (money)"),
    "program.label.registration_bonus": N_("Bonus for adding the card (points)"),
    "program.label.registration_bonus_days": N_("… valid for (days, empty = no expiry)"),
    "program.label.birthday_bonus": N_("Birthday bonus (points)"),
    "program.label.birthday_bonus_days": N_("… valid for (days, empty = no expiry)"),
    "program.label.points_validity_days": N_("Earned points expire after (days, empty = never)"),
    "program.label.code": N_("Code"),
    "program.label.name_ru": N_("Name (Russian)"),
    "program.label.name_en": N_("Name (English, optional)"),
    "program.label.discount": N_("Discount, %"),
    "program.label.grant": N_("Given"),
    "program.label.threshold": N_("Total spend to reach it"),
    # rules_views
    "rules.label.newcomer_days": N_("A newcomer for (days)"),
    "rules.label.at_risk_after_days": N_("“At risk” after no purchase for (days)"),
    "rules.label.lost_after_days": N_("“Lost” after no purchase for (days)"),
    "rules.label.quiet_start_hour": N_("Quiet hours start (local hour)"),
    "rules.label.quiet_end_hour": N_("Quiet hours end (local hour)"),
    "rules.label.frequency_cap_days": N_("At most one offer per card every (days)"),
    "rules.label.loyal_min_purchases": N_("A loyal buyer makes at least (purchases)"),
    "rules.label.loyal_window_days": N_("… within the last (days)"),
    # rules_views
    "rules.bonus_when.on_install": N_("When the card is added to a wallet"),
    "rules.bonus_when.on_first_purchase": N_(
        "With the first purchase after adding the card (stops bonus farming by scripts)"
    ),
}

# Messages for fields, by the field name the domain reports (segment.* or campaign fields).
FIELD_MESSAGES: dict[str, LazyText] = {
    "name": N_("Enter a name (up to 120 characters)."),
    "offer_en": N_(
        "Enter the offer (up to 200 characters: it is shown on the "
        "card; only {size} may stand in braces)."
    ),
    "offer_fallback_en": N_("Needed when the offer names {size}: up to 200 characters, no braces."),
    "size_category": N_("Up to 200 characters."),
    "segment.bought": N_("Give a category, size or SKU; days from 1 to 3650."),
    "bonus_points": N_("From 0 to 1 000 000."),
    "bonus_days": N_("From 1 to 3650 days, or empty."),
    "holdout_percent": N_("From 0 to 50 %."),
    "send_at": N_("This time is in the past."),
    "send_at.range": N_("Choose a time within the next year."),
    "segment.stages": N_("Choose from the list."),
    "segment.tiers": N_("Choose from the list."),
    "segment.wallet": N_("Choose from the list."),
    "segment.birthday_month": N_("Choose a month."),
}
FIELD_MESSAGES["offer_ru"] = FIELD_MESSAGES["offer_en"]
FIELD_MESSAGES["offer_fallback_ru"] = FIELD_MESSAGES["offer_fallback_en"]
FIELD_MESSAGES["segment.not_bought"] = FIELD_MESSAGES["segment.bought"]
FIELD_MESSAGES["segment.store_id"] = BY_KEY["seg.error.choice"]
for _name in ("last_purchase_within_days", "no_purchase_for_days"):
    FIELD_MESSAGES[f"segment.{_name}"] = BY_KEY["seg.error.days"]
for _name in ("min_spend", "max_spend"):
    FIELD_MESSAGES[f"segment.{_name}"] = BY_KEY["seg.error.money"]


def text_for(key: str, **values: object) -> str:
    """The text of a computed key (a campaign status, a trigger, a segment field...)."""
    text = str(BY_KEY[key])
    return text.format(**values) if values else text


_NOT_SET = re.compile(r"(WALLETPASS_[A-Z0-9_]+) is not set")


def channel_off(reason: str) -> str:
    """Why a messaging channel is off (the settings say it in English), translated."""
    found = _NOT_SET.fullmatch(reason)
    return _("{variable} is not set", variable=found.group(1)) if found else reason


def field_message(field: str, fallback: str = "") -> str:
    """The visitor's-language message for a field the domain refused."""
    found = FIELD_MESSAGES.get(field)
    return fallback if found is None else str(found)


def month_name(month: int) -> str:
    """``January`` / ``январь`` (the stand-alone form, as in a list)."""
    return str(get_month_names("wide", context="stand-alone", locale=current_locale())[month])


def short_date(day: date) -> str:
    """An axis label: ``Mar 2`` / ``2 мар.``."""
    return str(format_skeleton("MMMd", day, locale=current_locale()))


def local_time(when: datetime | None, zone: str) -> str:
    if when is None:
        return "—"
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def helpers() -> dict[str, Callable[..., Any]]:
    """What every console template may call."""
    return {
        "text_for": text_for,
        "number": number,
        "money": money,
        "percent": percent,
        "local_time": local_time,
        "month_name": month_name,
    }


# The campaign pages' own texts (triggers, confirmation, cancel) live in their module.
BY_KEY.update(campaign_texts.BY_KEY)
FIELD_MESSAGES.update(campaign_texts.FIELD_MESSAGES)
