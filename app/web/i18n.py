"""Page texts in Russian and English, and the choice of language per request."""

from __future__ import annotations

from flask import Flask, g, request, session

from app.services import consents

LOCALES = ("ru", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "join.title": {"en": "Join {program}", "ru": "Вступить в {program}"},
    "join.lead": {
        "en": "Get the {brand} card in your phone's wallet: {bonus} points for adding it "
        "and {discount} off every purchase.",
        "ru": "Карта {brand} в кошельке телефона: {bonus} баллов за добавление "
        "и скидка {discount} на каждую покупку.",
    },
    "join.lead_first_purchase": {
        "en": "Get the {brand} card in your phone's wallet: {bonus} points with your first "
        "purchase after adding it, and {discount} off every purchase.",
        "ru": "Карта {brand} в кошельке телефона: {bonus} баллов с первой покупкой после "
        "добавления и скидка {discount} на каждую покупку.",
    },
    "field.name": {"en": "Your name", "ru": "Ваше имя"},
    "field.phone": {"en": "Mobile phone", "ru": "Мобильный телефон"},
    "field.email": {"en": "E-mail (optional)", "ru": "E-mail (необязательно)"},
    "field.birthday": {
        "en": "Birthday (optional, for a birthday gift)",
        "ru": "День рождения (необязательно, для подарка)",
    },
    # The consent wordings and their versions live in app.services.consents.
    "field.consent": consents.PROGRAM.texts,
    "field.marketing_consent": consents.MARKETING.texts,
    "unsubscribe.title": {"en": "Unsubscribe", "ru": "Отписка от рассылки"},
    "unsubscribe.ask": {
        "en": "Stop sending me offers by SMS and e-mail?",
        "ru": "Больше не присылать мне предложения по SMS и e-mail?",
    },
    "unsubscribe.button": {"en": "Unsubscribe", "ru": "Отписаться"},
    "unsubscribe.done": {
        "en": "Done: you will not get offers by SMS or e-mail any more.",
        "ru": "Готово: предложения по SMS и e-mail больше приходить не будут.",
    },
    "join.terms": {"en": "Program terms", "ru": "Правила программы"},
    "join.submit": {"en": "Get my card", "ru": "Получить карту"},
    "join.errors": {
        "en": "Please correct the fields below.",
        "ru": "Исправьте, пожалуйста, поля ниже.",
    },
    "join.expired": {
        "en": "The form has expired. Please check your details and send it again.",
        "ru": "Форма устарела. Проверьте данные и отправьте ещё раз.",
    },
    "join.closed": {
        "en": "{brand} no longer takes new members: the program is closed. "
        "Cards already issued keep working as the shop announces.",
        "ru": "{brand} больше не принимает новых участников: программа закрыта. "
        "Уже выданные карты действуют так, как объявил магазин.",
    },
    "join.already": {
        "en": "This phone number already has a card in the program.",
        "ru": "На этот номер телефона карта уже оформлена.",
    },
    "join.link_title": {
        "en": "Already have a card? Get its link again",
        "ru": "Уже есть карта? Получите ссылку на неё ещё раз",
    },
    "join.link_submit": {"en": "Send me the link", "ru": "Прислать ссылку"},
    "join.link_sent": {
        "en": "If this number has a card in the program, its link is on the way to the "
        "phone (or the e-mail given at enrollment).",
        "ru": "Если на этот номер оформлена карта программы, ссылка на неё уже отправлена на "
        "этот телефон (или на e-mail, указанный при оформлении).",
    },
    "card.title": {"en": "Your {brand} card", "ru": "Ваша карта {brand}"},
    "card.number": {"en": "Card number", "ru": "Номер карты"},
    "card.balance": {"en": "Points", "ru": "Баллы"},
    "card.discount": {"en": "Discount", "ru": "Скидка"},
    "card.add_apple": {"en": "Add to Apple Wallet", "ru": "Добавить в Apple Wallet"},
    "card.add_google": {"en": "Add to Google Wallet", "ru": "Добавить в Google Wallet"},
    "card.open_pkpass": {
        "en": "Open in a wallet app",
        "ru": "Открыть в приложении-кошельке",
    },
    "card.install_hint": {
        "en": "No wallet app on the phone yet? Install one, come back to this page "
        "and tap “Open in a wallet app”.",
        "ru": "Нет приложения-кошелька? Установите любое, вернитесь на эту страницу "
        "и нажмите «Открыть в приложении-кошельке».",
    },
    "card.install_app": {"en": "Install {app}", "ru": "Установить {app}"},
    "card.on_phone": {"en": "Open on your phone", "ru": "Откройте на телефоне"},
    "card.on_phone_hint": {
        "en": "Scan this code with the phone's camera: this card page opens there, "
        "and you can add the card to the phone's wallet.",
        "ru": "Наведите камеру телефона на этот код: страница карты откроется на телефоне, "
        "и карту можно будет добавить в кошелёк.",
    },
    "card.on_phone_alt": {
        "en": "QR code with the link to this card page",
        "ru": "QR-код со ссылкой на эту страницу карты",
    },
    "card.other_device": {"en": "Another device?", "ru": "Другое устройство?"},
    "device.ios": {"en": "iPhone or iPad", "ru": "iPhone или iPad"},
    "device.android": {"en": "Android", "ru": "Android"},
    "device.huawei": {
        "en": "Huawei without Google services",
        "ru": "Huawei без сервисов Google",
    },
    "device.desktop": {"en": "Computer", "ru": "Компьютер"},
    "card.install_bonus": {
        "en": "Add the card to your wallet and get {bonus} points.",
        "ru": "Добавьте карту в кошелёк и получите {bonus} баллов.",
    },
    "card.install_bonus_offered_first_purchase": {
        "en": "Add the card to your wallet: {bonus} points come with your first purchase.",
        "ru": "Добавьте карту в кошелёк: {bonus} баллов придут с первой покупкой.",
    },
    "card.install_bonus_pending": {
        "en": "{bonus} points are waiting for you: they come with your first purchase.",
        "ru": "Вас ждут {bonus} баллов: они придут с первой покупкой.",
    },
    "card.keep_link": {
        "en": "Keep this page private: it is the link to your card.",
        "ru": "Не передавайте ссылку на эту страницу: это ссылка на вашу карту.",
    },
    "card.show_at_till": {
        "en": "Show this code at the till.",
        "ru": "Покажите этот код на кассе.",
    },
    "error.title": {"en": "Something went wrong", "ru": "Что-то пошло не так"},
    "error.not_found": {"en": "Page not found.", "ru": "Страница не найдена."},
    "error.rate_limited": {
        "en": "Too many attempts. Please try again in a few minutes.",
        "ru": "Слишком много попыток. Попробуйте через несколько минут.",
    },
    "error.too_large": {"en": "The request is too large.", "ru": "Слишком большой запрос."},
    "error.internal": {
        "en": "An error occurred on our side. Please try again.",
        "ru": "Ошибка на нашей стороне. Попробуйте ещё раз.",
    },
    "error.google": {
        "en": "Google Wallet did not answer. Please try again in a minute.",
        "ru": "Google Wallet не ответил. Попробуйте через минуту.",
    },
    "error.bad_request": {"en": "The request is not valid.", "ru": "Некорректный запрос."},
    "error.method": {
        "en": "This method is not allowed here.",
        "ru": "Этот метод здесь недоступен.",
    },
    "lang.switch": {"en": "По-русски", "ru": "In English"},
    "console.title": {"en": "walletpass console", "ru": "Консоль walletpass"},
    "console.email": {"en": "E-mail", "ru": "E-mail"},
    "console.password": {"en": "Password", "ru": "Пароль"},
    "console.login": {"en": "Log in", "ru": "Войти"},
    "console.login_failed": {
        "en": "Wrong e-mail or password, or too many attempts. Try again later.",
        "ru": "Неверный e-mail или пароль, или слишком много попыток. Попробуйте позже.",
    },
    "console.programs": {"en": "Programs", "ru": "Программы"},
    "console.join_page": {"en": "enrollment page", "ru": "страница вступления"},
    "console.poster": {"en": "QR poster (PDF)", "ru": "QR-плакат (PDF)"},
    "console.pushes": {"en": "Card updates", "ru": "Обновления карт"},
    "console.owed": {
        "en": "Cards waiting to be updated on phones: {count}",
        "ru": "Карт ждут обновления на телефонах: {count}",
    },
    "pos.title": {"en": "Till", "ru": "Касса"},
    "pos.logout": {"en": "Sign out", "ru": "Выйти"},
    "pos.key": {
        "en": "Scan the QR code from the console, or type its code (or a terminal key)",
        "ru": "Отсканируйте QR-код из консоли или введите его код (или ключ терминала)",
    },
    "pos.login": {"en": "Sign in", "ru": "Войти"},
    "pos.code": {"en": "Card code", "ru": "Код карты"},
    "pos.code_hint": {"en": "Scan or type the card number", "ru": "Сканируйте или введите номер"},
    "pos.find": {"en": "Find", "ru": "Найти"},
    "pos.camera": {"en": "Camera", "ru": "Камера"},
    "pos.tier": {"en": "Level", "ru": "Уровень"},
    "pos.discount": {"en": "Discount", "ru": "Скидка"},
    "pos.balance": {"en": "Points", "ru": "Баллы"},
    "pos.no_card": {"en": "Sell without a card", "ru": "Продажа без карты"},
    "pos.amount": {"en": "Purchase amount", "ru": "Сумма покупки"},
    "pos.redeem": {"en": "Pay with points", "ru": "Оплатить баллами"},
    "pos.record": {"en": "Record purchase", "ru": "Провести покупку"},
    "pos.done": {"en": "Purchase recorded", "ru": "Покупка проведена"},
    "pos.discount_amount": {"en": "Discount", "ru": "Скидка"},
    "pos.points_redeemed": {"en": "Paid with points", "ru": "Оплачено баллами"},
    "pos.amount_due": {"en": "To pay", "ru": "К оплате"},
    "pos.points_earned": {"en": "Points earned", "ru": "Начислено баллов"},
    "pos.new_balance": {"en": "New balance", "ru": "Новый баланс"},
    "pos.next": {"en": "Next customer", "ru": "Следующий покупатель"},
}

FIELD_ERRORS: dict[str, dict[str, str]] = {
    "name": {"en": "Please enter your name.", "ru": "Укажите имя."},
    "phone": {
        "en": "Please enter a valid mobile number.",
        "ru": "Укажите корректный номер телефона.",
    },
    "email": {"en": "Please enter a valid e-mail.", "ru": "Укажите корректный e-mail."},
    "birthday": {
        "en": "Please enter a real date of birth.",
        "ru": "Укажите корректную дату рождения.",
    },
    "consent": {
        "en": "Please accept the terms to get the card.",
        "ru": "Чтобы получить карту, примите правила.",
    },
    "locale": {"en": "Unsupported language.", "ru": "Неподдерживаемый язык."},
}


def current_locale() -> str:
    locale: str = g.get("locale", "ru")
    return locale


def t(key: str, **values: object) -> str:
    text = MESSAGES[key][current_locale()]
    return text.format(**values) if values else text


def field_error(field: str) -> str:
    return FIELD_ERRORS.get(field, {}).get(current_locale(), "")


def other_locale() -> str:
    return "en" if current_locale() == "ru" else "ru"


def init_app(app: Flask) -> None:
    @app.before_request
    def _choose_locale() -> None:
        if request.path.startswith(("/passkit/", "/api/")):
            return  # machine endpoints answer in JSON and keep no session cookie
        asked = request.args.get("lang")
        if asked in LOCALES:
            session["lang"] = asked
        chosen = session.get("lang")
        if chosen not in LOCALES:
            chosen = request.accept_languages.best_match(LOCALES) or "ru"
        g.locale = chosen

    app.jinja_env.globals.update(t=t, field_error=field_error, other_locale=other_locale)
    app.jinja_env.globals["current_locale"] = current_locale
