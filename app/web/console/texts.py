"""Texts of the marketer console pages (ru/en) and how numbers, money and times read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.web.console import campaign_texts
from app.web.i18n import current_locale

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}

TEXTS: dict[str, dict[str, str]] = {
    # navigation
    "nav.home": {"en": "Home", "ru": "Главная"},
    "nav.dashboard": {"en": "Dashboard", "ru": "Показатели"},
    "nav.segments": {"en": "Segments", "ru": "Сегменты"},
    "nav.campaigns": {"en": "Campaigns", "ru": "Кампании"},
    "nav.logout": {"en": "Sign out", "ru": "Выйти"},
    "nav.staff": {"en": "Staff", "ru": "Сотрудники"},
    "nav.programs": {"en": "Programs", "ru": "Программы"},
    "nav.tills": {"en": "tills", "ru": "кассы"},
    "nav.adjustments": {"en": "Approvals", "ru": "На одобрении"},
    "program": {"en": "Program", "ru": "Программа"},
    "none": {"en": "—", "ru": "—"},
    "program.archived": {
        "en": "This program is archived: its pages are read-only. An admin can restore it.",
        "ru": "Программа в архиве: её страницы только для просмотра. "
        "Администратор может её восстановить.",
    },
    "form.expired": {
        "en": "The form has expired. Please check the values and send it again.",
        "ru": "Форма устарела. Проверьте значения и отправьте ещё раз.",
    },
    "form.errors": {"en": "Please correct the fields below.", "ru": "Исправьте поля ниже."},
    "form.whole_number": {"en": "Enter a whole number.", "ru": "Введите целое число."},
    "form.amount": {"en": "Enter an amount, e.g. 1500.", "ru": "Введите сумму, например 1500."},
    "form.number": {"en": "Enter a number.", "ru": "Введите число."},
    "form.datetime": {"en": "Enter a date and time.", "ru": "Укажите дату и время."},
    "form.date": {"en": "Enter a date (YYYY-MM-DD).", "ru": "Укажите дату (ГГГГ-ММ-ДД)."},
    "form.date_range": {
        "en": "Enter a date between 1900 and 2100.",
        "ru": "Укажите дату между 1900 и 2100 годами.",
    },
    # segments
    "segments.title": {"en": "Segments", "ru": "Сегменты"},
    "segments.lead": {
        "en": "Filters combine with AND. Leave a filter empty to ignore it.",
        "ru": "Фильтры действуют вместе (И). Пустой фильтр не учитывается.",
    },
    "segments.size": {"en": "Cards in the segment", "ru": "Карт в сегменте"},
    "segments.count": {"en": "Count", "ru": "Посчитать"},
    "segments.to_campaign": {
        "en": "Create a campaign for this segment",
        "ru": "Создать кампанию для этого сегмента",
    },
    "seg.stages": {"en": "Lifecycle stage", "ru": "Этап жизненного цикла"},
    "seg.stage.newcomer": {"en": "Newcomer", "ru": "Новичок"},
    "seg.stage.active": {"en": "Active", "ru": "Активный"},
    "seg.stage.at_risk": {"en": "At risk", "ru": "Под угрозой ухода"},
    "seg.stage.lost": {"en": "Lost", "ru": "Ушедший"},
    "seg.tiers": {"en": "Level", "ru": "Уровень"},
    "seg.birthday_month": {"en": "Birthday month", "ru": "Месяц рождения"},
    "seg.store_id": {"en": "Bought at least once in", "ru": "Покупал хотя бы раз в"},
    "seg.any": {"en": "any", "ru": "любой"},
    "seg.bought": {"en": "Bought", "ru": "Покупал"},
    "seg.not_bought": {"en": "Did not buy", "ru": "Не покупал"},
    "seg.line.category": {"en": "category", "ru": "категория"},
    "seg.line.size": {"en": "size", "ru": "размер"},
    "seg.line.sku": {"en": "SKU", "ru": "артикул"},
    "seg.line.days": {"en": "within days", "ru": "за дней"},
    "seg.line.within": {"en": "within {days} days", "ru": "за {days} дн."},
    "field.offer_fallback_en": {
        "en": "Offer when the size is unknown, English",
        "ru": "Предложение, если размер неизвестен, английский",
    },
    "field.offer_fallback_ru": {
        "en": "Offer when the size is unknown, Russian",
        "ru": "Предложение, если размер неизвестен, русский",
    },
    "field.size_category": {
        "en": "{size} is the size most bought in category (empty: any)",
        "ru": "{size} — размер, чаще всего покупаемый в категории (пусто: любой)",
    },
    "seg.last_purchase_within_days": {
        "en": "Bought within the last N days",
        "ru": "Покупал за последние N дней",
    },
    "seg.no_purchase_for_days": {
        "en": "No purchase for N days",
        "ru": "Не покупал N дней",
    },
    "seg.min_spend": {"en": "Spent at least, all time", "ru": "Потратил не меньше, за всё время"},
    "seg.max_spend": {"en": "Spent at most, all time", "ru": "Потратил не больше, за всё время"},
    "seg.wallet": {"en": "Card in a wallet", "ru": "Карта в кошельке"},
    "seg.wallet.apple": {"en": "Apple Wallet", "ru": "Apple Wallet"},
    "seg.wallet.google": {"en": "Google Wallet", "ru": "Google Wallet"},
    "seg.wallet.any": {"en": "in any wallet", "ru": "в любом кошельке"},
    "seg.wallet.none": {"en": "in no wallet", "ru": "ни в одном кошельке"},
    "seg.wallet.android_pkpass": {
        "en": "any Android .pkpass app",
        "ru": "любое Android-приложение для .pkpass",
    },
    "seg.wallet.apple_wallet": {"en": "Apple Wallet", "ru": "Apple Wallet"},
    "seg.wallet.google_wallet": {"en": "Google Wallet", "ru": "Google Wallet"},
    "seg.wallet.walletpasses": {"en": "Wallet Passes", "ru": "Wallet Passes"},
    "seg.wallet.passwallet": {"en": "PassWallet", "ru": "PassWallet"},
    "seg.wallet.pass2u": {"en": "Pass2U Wallet", "ru": "Pass2U Wallet"},
    "seg.wallet.passworks": {"en": "Passworks", "ru": "Passworks"},
    "seg.wallet.walletunion": {"en": "WalletUnion", "ru": "WalletUnion"},
    "seg.wallet.walletunion_hms": {"en": "WalletUnion (Huawei)", "ru": "WalletUnion (Huawei)"},
    "seg.wallet.passhub": {"en": "PassHub (Telegram)", "ru": "PassHub (Telegram)"},
    "seg.wallet.unknown": {"en": "another Android app", "ru": "другое Android-приложение"},
    "seg.error.choice": {"en": "Choose from the list.", "ru": "Выберите из списка."},
    "seg.error.whole": {
        "en": "Enter a whole number, 0 or more.",
        "ru": "Введите целое число, 0 или больше.",
    },
    "seg.error.month": {"en": "Choose a month.", "ru": "Выберите месяц."},
    "seg.error.days": {
        "en": "Enter a whole number of days from 0 to 3650.",
        "ru": "Введите целое число дней от 0 до 3650.",
    },
    "seg.error.money": {
        "en": "Enter an amount from 0 to 1 000 000 000.",
        "ru": "Введите сумму от 0 до 1 000 000 000.",
    },
    # campaigns
    "campaigns.title": {"en": "Campaigns", "ru": "Кампании"},
    "campaigns.new": {"en": "New campaign", "ru": "Новая кампания"},
    "campaigns.empty": {"en": "No campaigns yet.", "ru": "Кампаний пока нет."},
    "col.name": {"en": "Name", "ru": "Название"},
    "col.status": {"en": "Status", "ru": "Статус"},
    "col.created": {"en": "Created", "ru": "Создана"},
    "col.send_at": {"en": "Sending", "ru": "Отправка"},
    "col.targets": {"en": "Targets", "ru": "Получатели"},
    "col.pushed": {"en": "Delivered", "ru": "Доставлено"},
    "status.draft": {"en": "draft", "ru": "черновик"},
    "status.scheduled": {"en": "scheduled", "ru": "запланирована"},
    "status.sending": {"en": "sending", "ru": "отправляется"},
    "status.sent": {"en": "sent", "ru": "отправлена"},
    "status.cancelled": {"en": "cancelled", "ru": "отменена"},
    "status.failed": {"en": "failed", "ru": "не удалась"},
    "campaign.failed": {
        "en": "The campaign stopped after repeated errors: {reason}",
        "ru": "Кампания остановлена после повторных ошибок: {reason}",
    },
    "field.name": {"en": "Campaign name (only staff see it)", "ru": "Название (видно только вам)"},
    "field.offer_en": {
        "en": "Offer on the card, English",
        "ru": "Предложение на карте, английский",
    },
    "field.offer_ru": {"en": "Offer on the card, Russian", "ru": "Предложение на карте, русский"},
    "field.bonus_points": {"en": "Bonus points (0: none)", "ru": "Бонусные баллы (0 — без баллов)"},
    "field.bonus_days": {
        "en": "Bonus valid for N days (empty: program rule)",
        "ru": "Баллы действуют N дней (пусто — по правилам программы)",
    },
    "field.holdout_percent": {
        "en": "Holdout: cards kept back to measure the effect, %",
        "ru": "Контрольная группа (не получит предложение), %",
    },
    "field.send": {"en": "When", "ru": "Когда"},
    "field.send_now": {"en": "Send now", "ru": "Отправить сейчас"},
    "field.send_at": {"en": "At a date and time", "ru": "В указанное время"},
    "segment.legend": {"en": "Who gets it", "ru": "Кому"},
    "campaign.quiet": {
        "en": "Quiet hours {start}–{end} ({zone}): offers are not sent at night; "
        "a time inside them moves to {end}.",
        "ru": "Тихие часы {start}–{end} ({zone}): ночью предложения не отправляются, "
        "время внутри них переносится на {end}.",
    },
    "campaign.quiet_now": {
        "en": "It is now quiet hours in {zone}: “send now” goes out at {end}.",
        "ru": "Сейчас тихие часы ({zone}): «отправить сейчас» уйдёт в {end}.",
    },
    "campaign.quiet_moves": {
        "en": "This time is in quiet hours: the offer will go out at {end}.",
        "ru": "Это время попадает в тихие часы: предложение уйдёт в {end}.",
    },
    "campaign.chars": {"en": "characters", "ru": "символов"},
    "campaign.launch": {"en": "Launch campaign", "ru": "Запустить кампанию"},
    "campaign.moved": {
        "en": "Quiet hours: the campaign will be sent at {when}.",
        "ru": "Тихие часы: кампания будет отправлена {when}.",
    },
    "campaign.scheduled_for": {"en": "Scheduled for {when}.", "ru": "Запланирована на {when}."},
    "campaign.offer": {"en": "Offer", "ru": "Предложение"},
    "campaign.bonus": {
        "en": "{points} bonus points",
        "ru": "{points} бонусных баллов",
    },
    "campaign.segment": {"en": "Segment", "ru": "Сегмент"},
    "campaign.all_cards": {"en": "all active cards", "ru": "все активные карты"},
    "campaign.holdout": {"en": "Holdout", "ru": "Контрольная группа"},
    "progress.title": {"en": "Progress", "ru": "Ход отправки"},
    "progress.targets": {"en": "Targets", "ru": "Отобрано карт"},
    "progress.holdout": {"en": "Holdout", "ru": "Контрольная группа"},
    "progress.skipped": {
        "en": "Skipped (frequency cap)",
        "ru": "Пропущено (недавно получали)",
    },
    "progress.applied": {"en": "Offer on the card", "ru": "Предложение на карте"},
    "progress.pushed": {"en": "Updated on phones", "ru": "Обновлено на телефонах"},
    "progress.accepted": {"en": "Pushes accepted", "ru": "Уведомлений принято"},
    "progress.failed": {"en": "Pushes failed (retried)", "ru": "Уведомлений не дошло (повторим)"},
    "progress.pruned": {"en": "Dead devices removed", "ru": "Удалено устройств"},
    "report.title": {
        "en": "Report: {days} days after the start",
        "ru": "Отчёт: {days} дней после запуска",
    },
    "report.wait": {
        "en": "The report appears once the campaign has started.",
        "ru": "Отчёт появится после запуска кампании.",
    },
    "report.targets": {"en": "Targeted cards", "ru": "Получили предложение"},
    "report.holdout": {"en": "Holdout cards", "ru": "Контрольная группа"},
    "report.cards": {"en": "Cards", "ru": "Карт"},
    "report.buyers": {"en": "Buyers", "ru": "Покупателей"},
    "report.purchases": {"en": "Purchases", "ru": "Покупок"},
    "report.revenue": {"en": "Revenue", "ru": "Выручка"},
    "report.per_card": {"en": "Revenue per card", "ru": "Выручка на карту"},
    "report.more": {
        "en": "Each targeted card brought {amount} more than a held-out one "
        "(95 % CI {low}–{high}).",
        "ru": "Каждая карта с предложением принесла на {amount} больше, чем карта "
        "из контрольной группы (95 % ДИ {low}–{high}).",
    },
    "report.less": {
        "en": "Each targeted card brought {amount} less than a held-out one "
        "(95 % CI {low}–{high}).",
        "ru": "Каждая карта с предложением принесла на {amount} меньше, чем карта "
        "из контрольной группы (95 % ДИ {low}–{high}).",
    },
    "report.unsure": {
        "en": "The interval includes zero: the difference may be chance so far.",
        "ru": "Интервал включает ноль: разница пока может быть случайной.",
    },
    "report.no_purchases": {
        "en": "None of these cards has bought anything since the start yet.",
        "ru": "С начала кампании по этим картам ещё не было покупок.",
    },
    "report.no_holdout": {
        "en": "There is no holdout, so the uplift cannot be measured.",
        "ru": "Контрольной группы нет, поэтому прирост измерить нельзя.",
    },
    # dashboard
    "dash.title": {"en": "Dashboard", "ru": "Показатели"},
    "dash.from": {"en": "From", "ru": "С"},
    "dash.to": {"en": "To", "ru": "По"},
    "dash.store": {"en": "Store", "ru": "Магазин"},
    "dash.all_stores": {"en": "all stores", "ru": "все магазины"},
    "dash.show": {"en": "Show", "ru": "Показать"},
    "dash.csv": {"en": "Weekly figures (CSV)", "ru": "По неделям (CSV)"},
    "dash.bad_period": {
        "en": "The period must start before it ends and last at most 366 days.",
        "ru": "Начало периода должно быть раньше конца, период — не длиннее 366 дней.",
    },
    "dash.unknown_store": {"en": "Unknown store.", "ru": "Неизвестный магазин."},
    "dash.per_store": {"en": "Per store", "ru": "По магазинам"},
    "dash.no_stores": {"en": "The program has no stores.", "ru": "У программы нет магазинов."},
    "dash.no_store": {
        "en": "No store (till in no store)",
        "ru": "Без магазина (касса без магазина)",
    },
    "dash.thin": {
        "en": "Fewer than {n} receipts in the period: averages and shares rest on too few "
        "purchases to mean much yet.",
        "ru": "За период меньше {n} чеков: средние и доли пока опираются на слишком мало "
        "покупок, чтобы что-то значить.",
    },
    "dash.thin_mark": {
        "en": "fewer than {n} receipts: not meaningful yet",
        "ru": "меньше {n} чеков: пока ничего не значит",
    },
    "dash.chart_check": {
        "en": "Average check with and without a card, by week",
        "ru": "Средний чек с картой и без, по неделям",
    },
    "dash.chart_share": {
        "en": "Share of revenue from card holders, by week",
        "ru": "Доля выручки держателей карт, по неделям",
    },
    "dash.chart_penetration": {
        "en": "Card penetration (receipts with a card), by week",
        "ru": "Проникновение карт (чеки с картой), по неделям",
    },
    "dash.with_card": {"en": "with card", "ru": "с картой"},
    "dash.without_card": {"en": "without card", "ru": "без карты"},
    "dash.share": {"en": "card holders' share", "ru": "доля держателей карт"},
    "dash.penetration": {"en": "receipts with a card", "ru": "чеки с картой"},
    "chart.no_data": {"en": "No purchases in this period", "ru": "Нет покупок за период"},
    "wallets.title": {"en": "Cards by wallet app", "ru": "Карты по приложениям-кошелькам"},
    "wallets.app": {"en": "Wallet app", "ru": "Приложение"},
    "wallets.installs": {"en": "Installs", "ru": "Установки"},
    "wallets.removals": {"en": "Removals", "ru": "Удаления"},
    "wallets.active": {"en": "Active cards now", "ru": "Активных карт сейчас"},
    "wallets.chart": {
        "en": "Installs by wallet app, by week",
        "ru": "Установки карт по приложениям, по неделям",
    },
    "wallets.none": {
        "en": "No card is in a wallet app yet.",
        "ru": "Пока ни одной карты в приложениях-кошельках.",
    },
    "wallets.no_installs": {"en": "No installs in this period", "ru": "Нет установок за период"},
    "kpi.loyal_buyers": {
        "en": "Loyal buyers (vs previous)",
        "ru": "Лояльных покупателей (к прошлому)",
    },
    "kpi.loyal_revenue_share": {"en": "Loyal buyers' revenue share", "ru": "Доля выручки лояльных"},
    "kpi.repeat_purchase_share": {
        "en": "Repeat purchases, of card purchases",
        "ru": "Повторные покупки среди покупок по картам",
    },
    "kpi.card_adoption": {
        "en": "Card in a wallet (of members)",
        "ru": "Карта в кошельке (от участников)",
    },
    "kpi.automated_revenue": {
        "en": "Revenue from automated messages",
        "ru": "Выручка от автоматических сообщений",
    },
    "dash.chart_loyal": {
        "en": "Loyal buyers at each week's end",
        "ru": "Лояльные покупатели на конец недели",
    },
    "dash.chart_repeat": {"en": "Repeat purchases per week", "ru": "Повторные покупки по неделям"},
    "dash.loyalty": {"en": "Loyalty (whole program)", "ru": "Лояльность (вся программа)"},
    "dash.loyal_rule": {
        "en": "Loyal: at least {n} purchases within {days} days (rule on the Rules page).",
        "ru": "Лояльный: не меньше {n} покупок за {days} дн. (правило на странице «Правила»).",
    },
    "dash.adoption": {
        "en": "Cards in wallets now, by app",
        "ru": "Карты в кошельках сейчас, по приложениям",
    },
    "dash.automated": {
        "en": "Automated messages: revenue against holdout "
        "({days} days after each message, 95 % interval)",
        "ru": "Автоматические сообщения: выручка против контрольной группы "
        "({days} дн. после каждого, 95 % интервал)",
    },
    "dash.source": {"en": "Message", "ru": "Сообщение"},
    "dash.targets": {"en": "Sent", "ru": "Отправлено"},
    "dash.holdout": {"en": "Holdout", "ru": "Контрольная группа"},
    "dash.attributed": {"en": "Attributed revenue", "ru": "Принесённая выручка"},
    "dash.interval": {"en": "95 % interval", "ru": "95 % интервал"},
    "dash.cards": {"en": "Cards", "ru": "Карт"},
    "dash.of_members": {"en": "Of members", "ru": "От участников"},
    "trigger.welcome": {"en": "Welcome", "ru": "Приветствие"},
    "trigger.birthday": {"en": "Birthday", "ru": "День рождения"},
    "trigger.win_back": {"en": "Win-back", "ru": "Возврат ушедших"},
    "kpi.receipts": {"en": "Receipts", "ru": "Чеков"},
    "kpi.receipts_with_card": {"en": "Receipts with a card", "ru": "Чеков с картой"},
    "kpi.revenue": {"en": "Revenue", "ru": "Выручка"},
    "kpi.revenue_with_card": {"en": "Revenue with a card", "ru": "Выручка с картой"},
    "kpi.average_check_with_card": {"en": "Average check, card", "ru": "Средний чек с картой"},
    "kpi.average_check_without_card": {
        "en": "Average check, no card",
        "ru": "Средний чек без карты",
    },
    "kpi.check_uplift": {"en": "Check uplift", "ru": "Прирост среднего чека"},
    "kpi.card_revenue_share": {"en": "Revenue share of cards", "ru": "Доля выручки по картам"},
    "kpi.card_penetration": {"en": "Card penetration", "ru": "Проникновение карт"},
    "kpi.members_enrolled": {"en": "New members", "ru": "Новых участников"},
    "kpi.conversion_first": {"en": "New members who bought", "ru": "Новые, кто купил"},
    "kpi.conversion_second": {"en": "…and bought again", "ru": "…и купил повторно"},
    "kpi.repeat_share": {"en": "Repeat buyers", "ru": "Повторные покупатели"},
    "kpi.purchases_per_person": {"en": "Purchases per buyer", "ru": "Покупок на покупателя"},
    "kpi.at_risk_share": {"en": "At risk of leaving", "ru": "Под угрозой ухода"},
    # card design
    "design.link": {"en": "card design", "ru": "дизайн карты"},
    "design.title": {"en": "Card design", "ru": "Дизайн карты"},
    "design.lead": {
        "en": "Colours and texts of the card in Apple Wallet and Google Wallet.",
        "ru": "Цвета и тексты карты в Apple Wallet и Google Wallet.",
    },
    "design.colors": {"en": "Colours", "ru": "Цвета"},
    "design.texts": {"en": "Offer and contacts", "ru": "Предложение и контакты"},
    "design.background_color": {"en": "Background", "ru": "Фон"},
    "design.foreground_color": {"en": "Text", "ru": "Текст"},
    "design.label_color": {"en": "Labels", "ru": "Подписи"},
    "design.offer_ru": {"en": "Offer in Russian", "ru": "Предложение по-русски"},
    "design.offer_en": {"en": "Offer in English", "ru": "Предложение по-английски"},
    "design.terms_url": {"en": "Program terms (web address)", "ru": "Правила программы (адрес)"},
    "design.website_url": {"en": "Website", "ru": "Сайт"},
    "design.support_phone": {"en": "Customer care phone", "ru": "Телефон службы заботы"},
    "design.preview": {"en": "Preview", "ru": "Предпросмотр"},
    "design.save": {"en": "Save", "ru": "Сохранить"},
    "design.apple": {"en": "Apple Wallet", "ru": "Apple Wallet"},
    "design.google": {"en": "Google Wallet", "ru": "Google Wallet"},
    "design.preview_alt": {
        "en": "Preview of the card in {wallet}",
        "ru": "Так карта выглядит в {wallet}",
    },
    "design.preview_note": {
        "en": "A sample card; the wallets draw the real one slightly differently.",
        "ru": "Пример карты; кошельки рисуют настоящую немного иначе.",
    },
    "design.saved": {
        "en": "Saved: cards on phones will update in a few minutes.",
        "ru": "Сохранено: карты на телефонах обновятся в течение нескольких минут.",
    },
    "design.draft_pending": {
        "en": "Card texts or images have unpublished changes; these previews show the published "
        "ones.",
        "ru": "В текстах или картинках карты есть неопубликованные изменения; здесь показаны "
        "опубликованные.",
    },
    "design.draft_review": {"en": "Review and publish", "ru": "Проверить и опубликовать"},
    "design.unchanged": {"en": "Nothing changed.", "ru": "Ничего не изменилось."},
    "design.error.color": {
        "en": "Enter a colour like #1A2B3C.",
        "ru": "Укажите цвет в виде #1A2B3C.",
    },
    "design.error.control": {
        "en": "Remove the control characters (invisible codes such as NUL or ESC).",
        "ru": "Уберите управляющие символы (невидимые коды вроде NUL или ESC).",
    },
    "design.error.too_long": {
        "en": "At most {limit} characters.",
        "ru": "Не больше {limit} символов.",
    },
    "design.error.url": {
        "en": "Enter a web address starting with https://.",
        "ru": "Укажите адрес, начинающийся с https://.",
    },
    "design.error.phone": {
        "en": "Enter a phone number with 10 to 15 digits, e.g. +7 800 000-00-00.",
        "ru": "Укажите телефон из 10–15 цифр, например +7 800 000-00-00.",
    },
    "design.error.contrast.foreground": {
        "en": "Text and background are too alike to read: contrast {ratio}:1, needs 3:1.",
        "ru": "Текст плохо читается на фоне: контраст {ratio}:1, нужно не меньше 3:1.",
    },
    "design.error.contrast.label": {
        "en": "Labels and background are too alike to read: contrast {ratio}:1, needs 3:1.",
        "ru": "Подписи плохо читаются на фоне: контраст {ratio}:1, нужно не меньше 3:1.",
    },
}

# Messages for fields, by the field name the domain reports (segment.* or campaign fields).
FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "name": {"en": "Enter a name (up to 120 characters).", "ru": "Введите название (до 120)."},
    "offer_en": {
        "en": "Enter the offer (up to 200 characters: it is shown on the card; "
        "only {size} may stand in braces).",
        "ru": "Введите предложение (до 200 символов: оно видно на карте; "
        "в фигурных скобках можно только {size}).",
    },
    "offer_fallback_en": {
        "en": "Needed when the offer names {size}: up to 200 characters, no braces.",
        "ru": "Нужно, если в предложении есть {size}: до 200 символов, без скобок.",
    },
    "size_category": {"en": "Up to 200 characters.", "ru": "До 200 символов."},
    "segment.bought": {
        "en": "Give a category, size or SKU; days from 1 to 3650.",
        "ru": "Укажите категорию, размер или артикул; дней от 1 до 3650.",
    },
    "bonus_points": {"en": "From 0 to 1 000 000.", "ru": "От 0 до 1 000 000."},
    "bonus_days": {"en": "From 1 to 3650 days, or empty.", "ru": "От 1 до 3650 дней или пусто."},
    "holdout_percent": {"en": "From 0 to 50 %.", "ru": "От 0 до 50 %."},
    "send_at": {"en": "This time is in the past.", "ru": "Это время уже прошло."},
    "send_at.range": {
        "en": "Choose a time within the next year.",
        "ru": "Выберите время в пределах года.",
    },
    "segment.stages": {"en": "Choose from the list.", "ru": "Выберите из списка."},
    "segment.tiers": {"en": "Choose from the list.", "ru": "Выберите из списка."},
    "segment.wallet": {"en": "Choose from the list.", "ru": "Выберите из списка."},
    "segment.birthday_month": {"en": "Choose a month.", "ru": "Выберите месяц."},
}
FIELD_MESSAGES["offer_ru"] = FIELD_MESSAGES["offer_en"]
FIELD_MESSAGES["offer_fallback_ru"] = FIELD_MESSAGES["offer_fallback_en"]
FIELD_MESSAGES["segment.not_bought"] = FIELD_MESSAGES["segment.bought"]
FIELD_MESSAGES["segment.store_id"] = TEXTS["seg.error.choice"]
for _name in ("last_purchase_within_days", "no_purchase_for_days"):
    FIELD_MESSAGES[f"segment.{_name}"] = TEXTS["seg.error.days"]
for _name in ("min_spend", "max_spend"):
    FIELD_MESSAGES[f"segment.{_name}"] = TEXTS["seg.error.money"]

SHORT_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "ru": ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "ru": [
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ],
}


def tx(key: str, **values: object) -> str:
    text = TEXTS[key][current_locale()]
    return text.format(**values) if values else text


def field_message(field: str, fallback: str = "") -> str:
    """The visitor's-language message for a field the domain refused."""
    return FIELD_MESSAGES.get(field, {}).get(current_locale(), fallback)


def month_name(month: int) -> str:
    return MONTHS[current_locale()][month - 1]


def short_date(day: date) -> str:
    """An axis label: ``Mar 2`` / ``2 мар``."""
    month = SHORT_MONTHS[current_locale()][day.month - 1]
    return f"{month} {day.day}" if current_locale() == "en" else f"{day.day} {month}"


def _group(whole: str) -> str:
    digits = whole.lstrip("-")
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return ("-" if whole.startswith("-") else "") + NARROW_NBSP.join(groups)


def number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    whole, _, fraction = text.partition(".")
    point = "," if current_locale() == "ru" else "."
    return _group(whole) + (point + fraction if fraction else "")


def money(minor: float | None, currency: str = "RUB") -> str:
    """Minor units (kopecks) as ``1 234.50 ₽``."""
    if minor is None:
        return "—"
    return number(minor / 100, 2) + NBSP + CURRENCY_SIGNS.get(currency, currency)


def money_short(minor: float, currency: str = "RUB") -> str:
    """An axis label: whole units, no kopecks."""
    return number(minor / 100, 0) + NBSP + CURRENCY_SIGNS.get(currency, currency)


def percent(ratio: float | None, digits: int = 1) -> str:
    return "—" if ratio is None else number(ratio * 100, digits) + NBSP + "%"


def local_time(when: datetime | None, zone: str) -> str:
    if when is None:
        return "—"
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def helpers() -> dict[str, Callable[..., Any]]:
    """What every console template may call."""
    return {
        "tx": tx,
        "number": number,
        "money": money,
        "percent": percent,
        "local_time": local_time,
        "month_name": month_name,
    }


# The campaign pages' own texts (triggers, confirmation, cancel) live in their module.
TEXTS.update(campaign_texts.TEXTS)
FIELD_MESSAGES.update(campaign_texts.FIELD_MESSAGES)
