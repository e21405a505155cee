"""The cashier page carries its messages in its own language, one per POS API error code."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from app.loyalty.errors import InsufficientPointsError, UnknownCardError, ValidationError
from app.till import errors as till_errors


def page_texts(client: FlaskClient, lang: str) -> dict[str, str]:
    response = client.get(f"/pos?lang={lang}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    found = re.search(r'<script id="pos-texts" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    texts: dict[str, str] = json.loads(found.group(1))
    return texts


def till_error_codes() -> set[str]:
    codes = {
        cls.code
        for cls in vars(till_errors).values()
        if isinstance(cls, type) and issubclass(cls, till_errors.TillError)
    }
    codes -= {"till_error"}  # the base class, never raised
    return codes | {UnknownCardError.code, InsufficientPointsError.code}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_till_error_code_has_a_message_in_the_pages_language(
    client: FlaskClient, lang: str
) -> None:
    texts = page_texts(client, lang)
    missing = {code for code in till_error_codes() if f"err.{code}" not in texts}
    assert not missing
    assert ValidationError.code not in missing  # fields are named one by one instead
    assert {"field.amount", "field.redeem_points", "field.barcode"} <= set(texts)


def test_the_russian_page_says_everything_in_russian(client: FlaskClient) -> None:
    ru, en = page_texts(client, "ru"), page_texts(client, "en")
    assert ru["err.insufficient_points"] == "Недостаточно баллов: на карте {balance}."
    for key, text in ru.items():
        words = re.sub(r"\{\w+\}", "", text)
        assert text != en[key] and not re.search(r"[A-Za-z]{3,}", words), key
    html = client.get("/pos?lang=ru").get_data(as_text=True)
    assert "Без карты" in html and "Последние чеки" in html and "Рассчитать" in html
