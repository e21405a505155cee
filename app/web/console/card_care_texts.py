"""Texts of the card-care forms on a card's page, and readable labels for the codes the
member and card tables would otherwise show (stages, ledger kinds, references)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import request

from app.web.i18n import current_locale

if TYPE_CHECKING:
    from app.loyalty.models import Card

CARE_ROLES = ("admin", "store_manager")

TEXTS: dict[str, dict[str, str]] = {
    "care": {"en": "Card care", "ru": "Обслуживание карты"},
    "tier": {"en": "Level", "ru": "Уровень"},
    "set_tier": {"en": "Set the level", "ru": "Назначить уровень"},
    "reason": {"en": "Reason", "ru": "Причина"},
    "block": {"en": "Block the card", "ru": "Заблокировать карту"},
    "unblock": {"en": "Unblock the card", "ru": "Разблокировать карту"},
    "replace": {"en": "Replace the card", "ru": "Заменить карту"},
    "replace_hint": {
        "en": "A new number and barcode with the same balance and history; the old card "
        "stops working at the till and shows as void on the phone.",
        "ru": "Новый номер и штрихкод с тем же балансом и историей; старая карта перестаёт "
        "работать на кассе и на телефоне показывается недействительной.",
    },
    "phone": {"en": "New phone", "ru": "Новый телефон"},
    "change_phone": {"en": "Change the phone", "ru": "Сменить телефон"},
    "merge": {"en": "Merge a duplicate into this card", "ru": "Объединить дубликат с этой картой"},
    "merge_other": {"en": "Duplicate's card number", "ru": "Номер карты дубликата"},
    "merge_hint": {
        "en": "The duplicate's points move here with their expiry dates; its card is "
        "blocked, its purchases stay on it and are linked from here.",
        "ru": "Баллы дубликата переходят сюда с их сроками; его карта блокируется, его "
        "покупки остаются на ней, ссылка на неё — на этой странице.",
    },
    "send_link": {"en": "Send the card link", "ru": "Отправить ссылку на карту"},
    "status.active": {"en": "active", "ru": "действует"},
    "status.blocked": {"en": "blocked", "ru": "заблокирована"},
    "merged_into": {"en": "Merged into card", "ru": "Объединена с картой"},
    "merged_from": {"en": "Merged here", "ru": "Объединены сюда"},
    "times_in": {"en": "Times in {zone}.", "ru": "Время — {zone}."},
    "done.tier": {"en": "Level set.", "ru": "Уровень назначен."},
    "done.blocked": {"en": "Card blocked.", "ru": "Карта заблокирована."},
    "done.active": {"en": "Card unblocked.", "ru": "Карта разблокирована."},
    "done.replaced": {
        "en": "Card replaced: new number {number}. The old card is void.",
        "ru": "Карта заменена: новый номер {number}. Старая карта недействительна.",
    },
    "done.phone": {"en": "Phone changed.", "ru": "Телефон изменён."},
    "done.merged": {
        "en": "Merged: {points} points moved here.",
        "ru": "Объединено: сюда перенесено баллов — {points}.",
    },
    "done.link.sms": {
        "en": "The card link goes out by SMS shortly.",
        "ru": "Ссылка на карту скоро уйдёт по SMS.",
    },
    "done.link.email": {
        "en": "The card link goes out by e-mail shortly.",
        "ru": "Ссылка на карту скоро уйдёт по электронной почте.",
    },
    "link_off": {
        "en": "The link cannot be sent: no channel reaches this member ({missing}).",
        "ru": "Ссылку не отправить: нет канала до участника ({missing}).",
    },
    "err.reason": {
        "en": "Say why (3 to 500 characters).",
        "ru": "Укажите причину (от 3 до 500 символов).",
    },
    "err.phone": {"en": "Not a valid phone number.", "ru": "Это не номер телефона."},
    "err.phone_taken": {
        "en": "Another member of the program has this phone.",
        "ru": "Этот телефон уже у другого участника программы.",
    },
    "err.other": {
        "en": "Enter the number of another card of this program.",
        "ru": "Укажите номер другой карты этой программы.",
    },
    "err.merged": {"en": "That card was already merged.", "ru": "Эта карта уже объединена."},
    "err.card": {
        "en": "Not possible for this card ({why}).",
        "ru": "Для этой карты нельзя ({why}).",
    },
    "err.tier": {"en": "Choose a level from the list.", "ru": "Выберите уровень из списка."},
}

KINDS = {
    "bonus": {"en": "bonus", "ru": "бонус"},
    "earn": {"en": "earned", "ru": "начислено за покупку"},
    "burn": {"en": "spent", "ru": "списано в оплату"},
    "expire": {"en": "expired", "ru": "сгорело"},
    "adjust": {"en": "adjusted by staff", "ru": "корректировка"},
    "refund": {"en": "refund", "ru": "возврат"},
}

STAGES = {
    "newcomer": {"en": "Newcomer", "ru": "Новичок"},
    "active": {"en": "Active", "ru": "Активный"},
    "at_risk": {"en": "At risk", "ru": "Под угрозой ухода"},
    "lost": {"en": "Lost", "ru": "Ушедший"},
}

REFERENCES = {
    "manual": {"en": "by hand", "ru": "вручную"},
    "install": {"en": "card added to a wallet", "ru": "карта добавлена в кошелёк"},
    "import": {"en": "imported", "ru": "перенесено при импорте"},
    "birthday": {"en": "birthday {0}", "ru": "день рождения {0}"},
    "campaign": {"en": "campaign #{0}", "ru": "кампания №{0}"},
    "merge": {"en": "merge with card {0}", "ru": "объединение с картой {0}"},
    "lot": {"en": "lot #{0}", "ru": "партия баллов №{0}"},
    "receipt": {"en": "purchase #{0}", "ru": "покупка №{0}"},
    "refund": {"en": "refund #{0}", "ru": "возврат №{0}"},
}


def ct(key: str, **values: object) -> str:
    text = TEXTS[key][current_locale()]
    return text.format(**values) if values else text


def kind_label(kind: str) -> str:
    return KINDS.get(kind, {}).get(current_locale(), kind)


def stage_label(stage: str | None) -> str:
    if stage is None:
        return "—"
    return STAGES.get(stage, {}).get(current_locale(), stage)


def reference_label(reference: str | None) -> str:
    """``campaign:1`` as "кампания №1"; an unknown code is shown as it is."""
    if not reference:
        return ""
    name, _, rest = reference.partition(":")
    found = REFERENCES.get(name)
    if found is None:
        return reference
    return found[current_locale()].format(rest)


def helpers() -> dict[str, Any]:
    return {
        "ct": ct,
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
        return ct("done.replaced", number=card.number)
    if done == "merged":
        points = request.args.get("points", "0")
        return ct("done.merged", points=points if points.isdigit() else "0")
    return ct(f"done.{done}")
