"""Console texts (ru/en) of triggered campaigns and of the confirmation, cancel and end
date of campaigns; merged into ``texts.TEXTS`` and ``texts.FIELD_MESSAGES``."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "status.active": {"en": "on", "ru": "включена"},
    "status.stopped": {"en": "off", "ru": "выключена"},
    "trigger.welcome": {"en": "Welcome (card installed)", "ru": "Приветствие (карта установлена)"},
    "trigger.birthday": {"en": "Birthday", "ru": "День рождения"},
    "trigger.win_back": {
        "en": "Win-back (member became at risk)",
        "ru": "Возврат (клиент перешёл в «под угрозой ухода»)",
    },
    "triggers.title": {"en": "Triggered campaigns", "ru": "Автоматические кампании"},
    "triggers.hint": {
        "en": "They run by themselves, card by card, when the moment comes.",
        "ru": "Работают сами, для каждой карты в свой момент.",
    },
    "triggers.new": {"en": "New: {kind}", "ru": "Новая: {kind}"},
    "trigger.kind": {"en": "Trigger", "ru": "Когда срабатывает"},
    "trigger.new_title": {"en": "New triggered campaign", "ru": "Новая автоматическая кампания"},
    "trigger.edit_title": {
        "en": "Edit triggered campaign",
        "ru": "Изменить автоматическую кампанию",
    },
    "trigger.save_new": {"en": "Create (switched off)", "ru": "Создать (выключенной)"},
    "trigger.save": {"en": "Save", "ru": "Сохранить"},
    "trigger.created": {
        "en": "Created switched off: check the card below and switch it on.",
        "ru": "Кампания создана выключенной: проверьте карту ниже и включите её.",
    },
    "trigger.saved": {"en": "Saved.", "ru": "Сохранено."},
    "trigger.on": {"en": "Switch on", "ru": "Включить"},
    "trigger.off": {"en": "Switch off", "ru": "Выключить"},
    "trigger.switched_on": {"en": "Switched on.", "ru": "Кампания включена."},
    "trigger.switched_off": {"en": "Switched off.", "ru": "Кампания выключена."},
    "trigger.edit": {"en": "Edit", "ru": "Изменить"},
    "trigger.when_birthday": {
        "en": "{days} days from the birthday (negative: before)",
        "ru": "{days} дн. от дня рождения (минус — до него)",
    },
    "field.trigger_days": {
        "en": "Day relative to the birthday (-3: three days before, 0: on the day)",
        "ru": "День относительно дня рождения (−3 — за три дня, 0 — в сам день)",
    },
    "field.ends_at": {
        "en": "End date: the offer leaves the cards then (empty: it stays)",
        "ru": "Дата окончания: тогда предложение исчезнет с карт (пусто — останется)",
    },
    "field.optional": {"en": "optional", "ru": "необязательно"},
    "campaign.ends_at": {"en": "Ends", "ru": "Окончание"},
    "campaign.offer_other_lang": {
        "en": "Members reading {lang} see the {other} text when this one is empty.",
        "ru": "Клиенты, читающие на этом языке, увидят текст на другом, если это поле пусто.",
    },
    "campaign.review": {"en": "Review before sending", "ru": "Проверить перед отправкой"},
    # confirmation
    "confirm.title": {"en": "Confirm the campaign", "ru": "Подтвердите кампанию"},
    "confirm.nothing_sent": {
        "en": "Nothing has been sent yet. Phones are notified only after you confirm.",
        "ru": "Пока ничего не отправлено. Телефоны получат уведомление только после подтверждения.",
    },
    "confirm.audience": {"en": "Audience", "ru": "Аудитория"},
    "confirm.audience_cards": {"en": "{n} cards match the segment", "ru": "Карт в сегменте: {n}"},
    "confirm.in_wallet": {
        "en": "{n} of them are in a wallet: only these will show the offer",
        "ru": "Из них в кошельке: {n} — только на них появится предложение",
    },
    "confirm.targets": {"en": "Get the offer: about {n}", "ru": "Получат предложение: около {n}"},
    "confirm.holdout": {
        "en": "Holdout (get nothing, to measure the effect): about {n}",
        "ru": "Контрольная группа (не получит ничего, для оценки эффекта): около {n}",
    },
    "confirm.holdout_small": {
        "en": "The holdout or the targets will have fewer than {min} cards: the report "
        "cannot tell the effect from chance. Widen the segment or raise the holdout.",
        "ru": "В контрольной группе или среди получателей будет меньше {min} карт: отчёт "
        "не сможет отличить эффект от случайности. Расширьте сегмент или увеличьте "
        "контрольную группу.",
    },
    "confirm.card": {"en": "The card as it will look", "ru": "Так будет выглядеть карта"},
    "confirm.send_at": {"en": "Sending", "ru": "Отправка"},
    "confirm.now": {"en": "right after confirmation", "ru": "сразу после подтверждения"},
    "confirm.button": {"en": "Confirm and send", "ru": "Подтвердить и отправить"},
    "confirm.discard": {"en": "Discard", "ru": "Отказаться"},
    "confirm.done": {
        "en": "Confirmed: the campaign is on its way.",
        "ru": "Подтверждено: кампания отправляется.",
    },
    "confirm.scheduled": {
        "en": "Confirmed: scheduled for {when}.",
        "ru": "Подтверждено: запланирована на {when}.",
    },
    # cancel
    "cancel.button": {"en": "Cancel campaign", "ru": "Отменить кампанию"},
    "cancel.confirm": {
        "en": "Cancel the campaign? Cards not yet offered get nothing; cards already "
        "offered keep the offer until the end date.",
        "ru": "Отменить кампанию? Карты, ещё не получившие предложение, его не получат; "
        "уже получившие сохранят его до даты окончания.",
    },
    "cancel.done": {
        "en": "Cancelled: {left} cards will not get the offer.",
        "ru": "Кампания отменена: {left} карт не получат предложение.",
    },
    "campaign.not_allowed": {
        "en": "This cannot be done in the campaign's current state.",
        "ru": "В текущем состоянии кампании это сделать нельзя.",
    },
    "progress.in_wallet": {"en": "In a wallet", "ru": "В кошельке"},
}

FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "trigger_days": {"en": "From -30 to 30 days.", "ru": "От −30 до 30 дней."},
    "ends_at": {
        "en": "Choose a time after the campaign starts (within two years).",
        "ru": "Выберите время после начала кампании (в пределах двух лет).",
    },
    "trigger": {"en": "Choose from the list.", "ru": "Выберите из списка."},
}
