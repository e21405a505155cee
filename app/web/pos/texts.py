"""Texts of the cashier page (ru/en) beyond the basic ones in app/web/i18n.py.

Keys starting with ``js.`` are handed to pos.js in the page's language: messages the
script shows, including one per POS API error code, so a Russian page never shows
the API's English ``message``. ``{name}`` placeholders are filled in by the script.
"""

from __future__ import annotations

from app.web.i18n import current_locale

TEXTS: dict[str, dict[str, str]] = {
    "customer": {"en": "Customer", "ru": "Покупатель"},
    "no_card": {"en": "No card", "ru": "Без карты"},
    "no_card_chosen": {
        "en": "Sale without a card: no discount, no points.",
        "ru": "Продажа без карты: без скидки и баллов.",
    },
    "find_card": {"en": "Scan a card after all", "ru": "Всё-таки найти карту"},
    "other_customer": {"en": "Another customer", "ru": "Другой покупатель"},
    "amount_hint": {"en": "e.g. 1338.50", "ru": "например 1338,50"},
    "quote": {"en": "Calculate", "ru": "Рассчитать"},
    "quote_title": {"en": "Check before recording", "ru": "Проверьте перед проведением"},
    "q_amount": {"en": "Amount", "ru": "Сумма"},
    "q_discount": {"en": "Discount", "ru": "Скидка"},
    "q_points": {"en": "Paid with points", "ru": "Оплата баллами"},
    "q_due": {"en": "To pay", "ru": "К оплате"},
    "q_earned": {"en": "Points to earn", "ru": "Будет начислено баллов"},
    "q_balance_after": {"en": "Points after", "ru": "Баллов после покупки"},
    "confirm": {"en": "Confirm purchase", "ru": "Подтвердить покупку"},
    "edit": {"en": "Change", "ru": "Изменить"},
    "receipt": {"en": "Receipt", "ru": "Чек №"},
    "recent": {"en": "Recent receipts", "ru": "Последние чеки"},
    "refresh": {"en": "Refresh", "ru": "Обновить"},
    "refund_title": {"en": "Refund of receipt", "ru": "Возврат по чеку"},
    "refund_amount": {
        "en": "Amount to refund (empty: all that is left)",
        "ru": "Сумма возврата (пусто — всё, что осталось)",
    },
    "refund_confirm": {"en": "Record refund", "ru": "Провести возврат"},
    "cancel": {"en": "Cancel", "ru": "Отмена"},
    "refund_done": {"en": "Refund recorded", "ru": "Возврат проведён"},
    "money_back": {"en": "Give back", "ru": "Вернуть покупателю"},
    "points_returned": {"en": "Points returned", "ru": "Возвращено баллов"},
    "points_taken_back": {"en": "Points taken back", "ru": "Списано баллов"},
    "new_balance": {"en": "Points now", "ru": "Баллов теперь"},
    # Shown by pos.js
    "js.upTo": {"en": "up to {max}", "ru": "до {max}"},
    "js.noCard": {"en": "no card", "ru": "без карты"},
    "js.left": {"en": "left {amount}", "ru": "осталось {amount}"},
    "js.refund": {"en": "Refund", "ru": "Возврат"},
    "js.refundedAll": {"en": "refunded", "ru": "возвращён"},
    "js.noReceipts": {"en": "No receipts yet.", "ru": "Чеков пока нет."},
    "js.network": {
        "en": "Cannot reach the server. Nothing was lost: press the button again.",
        "ru": "Нет связи с сервером. Ничего не потеряно: нажмите кнопку ещё раз.",
    },
    "js.noCamera": {
        "en": "No camera: type the number instead.",
        "ru": "Камера недоступна: введите номер вручную.",
    },
    "js.badAmount": {
        "en": "Enter an amount such as 1338.50.",
        "ru": "Введите сумму, например 1338,50.",
    },
    "js.badPoints": {
        "en": "Enter a whole number of points.",
        "ru": "Введите целое число баллов.",
    },
    "js.emptyCode": {
        "en": "Scan the card or type its number.",
        "ru": "Отсканируйте карту или введите её номер.",
    },
    "js.generic": {
        "en": "The request was not accepted ({code}).",
        "ru": "Запрос не принят ({code}).",
    },
    "js.err.unauthorized": {
        "en": "This key was not accepted.",
        "ru": "Ключ не подошёл.",
    },
    "js.err.unknown_card": {
        "en": "No such card: check the number or scan again.",
        "ru": "Карта не найдена: проверьте номер или отсканируйте ещё раз.",
    },
    "js.err.card_blocked": {"en": "This card is blocked.", "ru": "Эта карта заблокирована."},
    "js.err.card_replaced": {
        "en": "This card was replaced: ask the customer for the new one.",
        "ru": "Эта карта заменена: попросите у покупателя новую.",
    },
    "js.err.insufficient_points": {
        "en": "Not enough points: the card has {balance}.",
        "ru": "Недостаточно баллов: на карте {balance}.",
    },
    "js.err.redeem_limit_exceeded": {
        "en": "Points may pay at most {maximum} of this purchase.",
        "ru": "Баллами можно оплатить не больше {maximum} по этой покупке.",
    },
    "js.err.barcode_required": {
        "en": "Points are spent only with the scanned card, not a typed number.",
        "ru": "Баллы списываются только по отсканированной карте, не по введённому номеру.",
    },
    "js.err.duplicate_conflict": {
        "en": "This receipt was already recorded with other data. Start a new sale.",
        "ru": "Этот чек уже проведён с другими данными. Начните новую продажу.",
    },
    "js.err.unknown_receipt": {
        "en": "This till has no such receipt.",
        "ru": "На этой кассе нет такого чека.",
    },
    "js.err.refund_exceeds_receipt": {
        "en": "That is more than is left to refund on this receipt.",
        "ru": "Это больше, чем осталось вернуть по этому чеку.",
    },
    "js.err.code_expired": {
        "en": "The code on the card has changed: scan it again.",
        "ru": "Код на карте сменился: отсканируйте её ещё раз.",
    },
    "js.err.code_already_used": {
        "en": "This code was already used: scan the card again.",
        "ru": "Этот код уже использован: отсканируйте карту ещё раз.",
    },
    "js.err.rotating_code_required": {
        "en": "To pay with points, scan the live code in the customer's Google Wallet.",
        "ru": "Чтобы оплатить баллами, отсканируйте меняющийся код на телефоне покупателя.",
    },
    "js.err.rate_limited": {
        "en": "Too many requests: wait a minute and try again.",
        "ru": "Слишком много запросов: подождите минуту и повторите.",
    },
    "js.err.internal_error": {
        "en": "Server error, nothing was recorded. Try again.",
        "ru": "Ошибка на сервере, ничего не проведено. Повторите.",
    },
    "js.field.code": {
        "en": "This pairing code is wrong, already used or expired: ask for a new QR code.",
        "ru": "Код подключения неверный, уже использован или истёк: попросите новый QR-код.",
    },
    "js.pairing": {"en": "Connecting the till…", "ru": "Подключаем кассу…"},
    "js.field.amount": {
        "en": "Enter an amount such as 1338.50.",
        "ru": "Введите сумму, например 1338,50.",
    },
    "js.field.redeem_points": {
        "en": "Enter a whole number of points.",
        "ru": "Введите целое число баллов.",
    },
    "js.field.barcode": {
        "en": "This is not a card code: scan the card again.",
        "ru": "Это не код карты: отсканируйте карту ещё раз.",
    },
}


def tx(key: str) -> str:
    return TEXTS[key][current_locale()]


def script_texts() -> dict[str, str]:
    """The ``js.`` texts in the page's language, keyed without the prefix."""
    locale = current_locale()
    return {key[3:]: text[locale] for key, text in TEXTS.items() if key.startswith("js.")}
