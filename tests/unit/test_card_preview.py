"""Preview images of a card in Apple Wallet and Google Wallet (pure Pillow drawing)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from app.passes.content import CardContent, Colors, Field
from app.passes.templates import PassTemplate, load_template
from app.posters.card_preview import WIDTH, render_apple_preview, render_google_preview

ROOT = Path(__file__).resolve().parents[2] / "pass_templates"
BARCODE = "2000000000008-PREVIEW2K0"


def both(ru: str, en: str) -> dict[str, str]:
    return {"ru": ru, "en": en}


def content(background: str = "#1F3A5F", offer: str = "Скидка 7 % уже действует") -> CardContent:
    return CardContent(
        template="demo",
        serial_number="s",
        auth_token="a" * 16,
        locale="ru",
        organization_name="Маленькие шаги",
        description=both("Карта", "Card"),
        colors=Colors(background, "#FFFFFF", "#FFD166"),
        barcode=BARCODE,
        barcode_alt_text="2000 0000 0000 8",
        fields=(
            Field("discount", "header", both("Скидка", "Discount"), both("5\u00a0%", "5\u00a0%")),
            Field("balance", "primary", both("Баллы", "Points"), 2000, is_number=True),
            Field("member", "secondary", both("Участник", "Member"), both("Анна Петрова", "A")),
            Field("tier", "secondary", both("Уровень", "Level"), both("Базовый", "Basic")),
            Field("offer", "auxiliary", both("Предложение", "Offer"), both(offer, "7 % off")),
            Field("number", "back", both("Номер карты", "Number"), both("2000", "2000")),
        ),
    )


@pytest.fixture(scope="module")
def template() -> PassTemplate:
    return load_template(ROOT, "demo")


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def test_the_apple_preview_is_a_phone_wide_png_whose_qr_code_scans(
    template: PassTemplate,
) -> None:
    image = opened(render_apple_preview(content(), template.images, "ru"))
    assert image.width == WIDTH
    assert 700 < image.height < 1600
    assert decoded(image) == [BARCODE]
    # The card's background colour fills the card (just inside its top left corner).
    assert image.convert("RGB").getpixel((24, 500)) == (0x1F, 0x3A, 0x5F)


def test_the_google_preview_is_a_phone_wide_png_whose_qr_code_scans(
    template: PassTemplate,
) -> None:
    png = render_google_preview(
        content(),
        template.images["logo@3x.png"],
        template.images["strip@3x.png"],
        "#A4243B",
        "Маленькие шаги — карта лояльности",
        "ru",
    )
    image = opened(png)
    assert image.width == WIDTH
    assert decoded(image) == [BARCODE]
    assert image.convert("RGB").getpixel((24, 500)) == (0xA4, 0x24, 0x3B)


def test_russian_texts_long_texts_and_missing_images_still_render() -> None:
    long_offer = "Очень длинное предложение с ёлками и щами " * 6
    apple = opened(render_apple_preview(content(offer=long_offer), {}, "ru"))
    google = opened(render_google_preview(content(), None, b"not a png", "#FFFFFF", "Ёж", "en"))
    assert apple.width == google.width == WIDTH
    assert decoded(apple) == [BARCODE]


def test_a_colour_change_changes_the_image(template: PassTemplate) -> None:
    blue = render_apple_preview(content("#1F3A5F"), template.images, "en")
    green = render_apple_preview(content("#0B6E4F"), template.images, "en")
    assert blue != green
