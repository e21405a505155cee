"""The texts pos.js shows, handed to it in the page's language: messages of the script,
including one per POS API error code, so a Russian page never shows the API's English
``message``. ``{name}`` placeholders are filled in by the script.
"""

from __future__ import annotations

from app.web.i18n import N_, LazyText

SCRIPT_TEXTS: dict[str, LazyText] = {
    "upTo": N_("up to {max}"),
    "noCard": N_("no card"),
    "left": N_("left {amount}"),
    "refund": N_("Refund"),
    "refundedAll": N_("refunded"),
    "noReceipts": N_("No receipts yet."),
    "network": N_("Cannot reach the server. Nothing was lost: press the button again."),
    "noCamera": N_("No camera: type the number instead."),
    "badAmount": N_("Enter an amount such as 1338.50."),
    "badPoints": N_("Enter a whole number of points."),
    "emptyCode": N_("Scan the card or type its number."),
    "generic": N_("The request was not accepted ({code})."),
    "err.unauthorized": N_("This key was not accepted."),
    "err.unknown_card": N_("No such card: check the number or scan again."),
    "err.card_blocked": N_("This card is blocked."),
    "err.card_replaced": N_("This card was replaced: ask the customer for the new one."),
    "err.insufficient_points": N_("Not enough points: the card has {balance}."),
    "err.redeem_limit_exceeded": N_("Points may pay at most {maximum} of this purchase."),
    "err.barcode_required": N_("Points are spent only with the scanned card, not a typed number."),
    "err.duplicate_conflict": N_(
        "This receipt was already recorded with other data. Start a new sale."
    ),
    "err.unknown_receipt": N_("This till has no such receipt."),
    "err.refund_exceeds_receipt": N_("That is more than is left to refund on this receipt."),
    "err.code_expired": N_("The code on the card has changed: scan it again."),
    "err.code_already_used": N_("This code was already used: scan the card again."),
    "err.rotating_code_required": N_(
        "To pay with points, scan the live code in the customer's Google Wallet."
    ),
    "err.rate_limited": N_("Too many requests: wait a minute and try again."),
    "err.internal_error": N_("Server error, nothing was recorded. Try again."),
    "field.code": N_("This pairing code is wrong, already used or expired: ask for a new QR code."),
    "pairing": N_("Connecting the till…"),
    "field.amount": N_("Enter an amount such as 1338.50."),
    "field.redeem_points": N_("Enter a whole number of points."),
    "field.barcode": N_("This is not a card code: scan the card again."),
}


def script_texts() -> dict[str, str]:
    """The script's texts in the page's language."""
    return {key: str(text) for key, text in SCRIPT_TEXTS.items()}
