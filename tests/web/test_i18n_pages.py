"""Pages in Russian and in English come from the catalogs: the words, the CLDR plural
form of counted points and the locale's way of writing numbers."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import design, enrollment
from tests.helpers import console_login
from tests.web.test_console_campaigns import csrf_of

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.8"}
NBSP = "\u00a0"


def _page(client: FlaskClient, path: str, headers: dict[str, str]) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_join_page_in_both_languages(client: FlaskClient, demo: Program) -> None:
    ru = _page(client, "/join/demo", RU)
    assert f"2{NBSP}000 баллов за добавление и скидка 7{NBSP}% на каждую покупку" in ru
    assert "Мобильный телефон" in ru and "In English" in ru
    en = _page(client, "/join/demo", EN)
    assert f"2,000 points for adding it and 7{NBSP}% off every purchase" in en
    assert "Mobile phone" in en and "По-русски" in en


@pytest.mark.parametrize(
    ("bonus", "ru", "en"),
    [
        (1, "1 балл за добавление", "1 point for adding it"),
        (2, "2 балла за добавление", "2 points for adding it"),
        (5, "5 баллов за добавление", "5 points for adding it"),
        (11, "11 баллов за добавление", "11 points for adding it"),
        (21, "21 балл за добавление", "21 points for adding it"),
        (22, "22 балла за добавление", "22 points for adding it"),
    ],
)
def test_the_install_bonus_takes_the_plural_form_of_its_count(
    client: FlaskClient, session: Session, demo: Program, bonus: int, ru: str, en: str
) -> None:
    demo.registration_bonus = bonus
    session.commit()
    assert ru in _page(client, "/join/demo", RU)
    assert en in _page(client, "/join/demo", EN)


def test_the_card_page_in_both_languages(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    form = enrollment.EnrollmentForm(name="Мария", phone="+79112223344", consent=True)
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    ru = _page(client, f"/c/{card.public_id}", RU)
    assert "Номер карты" in ru and "Покажите этот код на кассе." in ru
    en = _page(client, f"/c/{card.public_id}", EN)
    assert "Card number" in en and "Show this code at the till." in en


def test_the_console_in_both_languages(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    assert "Неверный e-mail" not in _page(client, "/console/login", RU)
    assert "Пароль" in _page(client, "/console/login", RU)
    assert "Password" in _page(client, "/console/login", EN)
    console_login(client, session, services)
    ru = _page(client, "/console/segments?lang=ru", {})
    assert "Сегменты" in ru and "Этап жизненного цикла" in ru
    en = _page(client, "/console/segments?lang=en", {})
    assert "Segments" in en and "Lifecycle stage" in en


def test_the_console_names_the_signed_in_role_in_the_visitors_language(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, role="admin")
    ru = _page(client, "/console/segments?lang=ru", {})
    assert "Admin · администратор</span>" in ru and "· admin<" not in ru
    home = _page(client, "/console/?lang=ru", {})  # the page after signing in
    assert "Admin · администратор\n" in home and "· admin<" not in home
    assert 'href="/console/?lang=en">In English</a>' in home  # and the way to English
    en = _page(client, "/console/segments?lang=en", {})
    assert "Admin · admin</span>" in en


def test_the_invite_form_offers_wallets_by_name_not_by_code(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, role="admin")
    ru = _page(client, "/console/programs/demo/invites?lang=ru", {})
    assert '<option value="any">в любом кошельке</option>' in ru
    assert '<option value="unknown">другое Android-приложение</option>' in ru
    en = _page(client, "/console/programs/demo/invites?lang=en", {})
    assert '<option value="any">in any wallet</option>' in en


def test_a_refused_colour_contrast_is_written_the_russian_way(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, role="marketer")
    path = "/console/programs/demo/design?lang=ru"
    data = {
        **design.design_form(demo),
        "background_color": "#FFFFFF",
        "foreground_color": "#FEFEFE",
        "csrf_token": csrf_of(client, path),
    }
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert "контраст 1,0:1, нужно не меньше 3:1" in response.get_data(as_text=True)


def test_an_unconfigured_channel_says_why_in_russian(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, role="admin")
    ru = _page(client, "/console/programs/demo/invites?lang=ru", {})
    assert "<code>WALLETPASS_SMTP_URL не задана</code>" in ru and "is not set" not in ru
    en = _page(client, "/console/programs/demo/invites?lang=en", {})
    assert "<code>WALLETPASS_SMTP_URL is not set</code>" in en
