"""The in-store poster: right paper size, a QR code that scans to the join URL, sane errors."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from app.posters.render import (
    PAPER_SIZES,
    PosterContent,
    PosterError,
    render_poster_pdf,
    render_poster_png,
)
from tests.helpers import require_command

POINTS_PER_MM = 72 / 25.4
LOGO_GREEN = (0, 200, 80)


def _logo_png() -> bytes:
    logo = Image.new("RGBA", (480, 150), (0, 0, 0, 0))
    ImageDraw.Draw(logo).rounded_rectangle((10, 10, 470, 140), radius=30, fill=(*LOGO_GREEN, 255))
    out = io.BytesIO()
    logo.save(out, "PNG")
    return out.getvalue()


EN = PosterContent(
    join_url="https://wallet.example.test/join/corner-coffee?src=poster",
    brand_name="Corner Coffee",
    headline="Get your loyalty card in 30 seconds",
    subline="2,000 points for installing the card · 7% off every purchase",
    steps=("Scan the code", "Fill in the form", "Add to Apple Wallet or Google Wallet"),
    background_color="#FFF8EE",
    foreground_color="#222222",
    accent_color="#C8102E",
    logo_png=None,
)
RU = PosterContent(
    join_url="https://wallet.example.test/j/лавка-у-дома?utm_source=poster",
    brand_name="Лавка у дома",
    headline="Карта лояльности за 30 секунд",
    subline="2\u00a0000 баллов за установку карты · 7\u202f% скидки на каждую покупку",
    steps=(
        "Отсканируйте код",
        "Заполните анкету",
        "Добавьте карту в Apple Wallet или Google Wallet",
    ),
    background_color="#1B3A2F",
    foreground_color="#FFFFFF",
    accent_color="#F5B700",
    logo_png=_logo_png(),
)
CONTENTS = {"en": EN, "ru": RU}


def _pixels(size: str, dpi: int) -> tuple[int, int]:
    width_mm, height_mm = PAPER_SIZES[size]
    return round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi)


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def _png(content: PosterContent, **kwargs: object) -> Image.Image:
    image = Image.open(io.BytesIO(render_poster_png(content, **kwargs)))  # type: ignore[arg-type]
    assert image.format == "PNG"
    return image.convert("RGB")


def _assert_margins_empty(image: Image.Image, background: str) -> None:
    """Nothing is drawn in a 3 % band along each edge: the content stays inside the margins."""
    band = round(image.width * 0.03)
    width, height = image.size
    for box in ((0, 0, width, band), (0, height - band, width, height),
                (0, 0, band, height), (width - band, 0, width, height)):  # fmt: skip
        colors = image.crop(box).getcolors()
        assert colors is not None and [c for _, c in colors] == [_hex(background)], box


@pytest.mark.parametrize("size", ["a4", "a5"])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_png_has_the_paper_size_and_a_qr_code_with_the_join_url(size: str, lang: str) -> None:
    content = CONTENTS[lang]
    raw = render_poster_png(content, size=size, dpi=150)
    image = Image.open(io.BytesIO(raw))
    assert image.size == _pixels(size, 150)
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.1)
    assert len(raw) < 400_000
    barcodes = zxingcpp.read_barcodes(image.convert("RGB"))
    assert [b.text for b in barcodes] == [content.join_url]
    assert barcodes[0].ec_level == "M"
    symbol_width = barcodes[0].position.top_right.x - barcodes[0].position.top_left.x
    assert symbol_width >= 0.38 * image.width  # + the quiet zone: >= 45 % of the page width
    _assert_margins_empty(image.convert("RGB"), content.background_color)


@pytest.mark.parametrize("dpi", [100, 300])
def test_png_scales_with_dpi(dpi: int) -> None:
    image = _png(EN, size="a5", dpi=dpi)
    assert image.size == _pixels("a5", dpi)
    assert _decode(image) == [EN.join_url]


@pytest.mark.parametrize("size", ["a4", "a5"])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_pdf_is_one_page_of_the_exact_paper_size(size: str, lang: str) -> None:
    pdf = render_poster_pdf(CONTENTS[lang], size=size)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    found = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert found is not None
    width_mm, height_mm = PAPER_SIZES[size]
    assert float(found[1]) == pytest.approx(width_mm * POINTS_PER_MM, abs=1)
    assert float(found[2]) == pytest.approx(height_mm * POINTS_PER_MM, abs=1)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_pdf_rasterises_to_a_scannable_poster(lang: str, tmp_path: Path) -> None:
    require_command("pdftoppm", "poppler-utils")
    content = CONTENTS[lang]
    (tmp_path / "poster.pdf").write_bytes(render_poster_pdf(content, size="a5"))
    subprocess.run(
        ["pdftoppm", "-r", "120", "-png", "-singlefile", "poster.pdf", "page"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as page:
        assert page.size == pytest.approx(_pixels("a5", 120), abs=2)
        assert _decode(page.convert("RGB")) == [content.join_url]


def test_a_long_headline_and_subline_shrink_and_stay_inside_the_page() -> None:
    content = replace(
        RU,
        headline="Оформите карту лояльности нашей сети магазинов у дома прямо сейчас " * 3,
        subline="Очень длинный подзаголовок про баллы, скидки и подарки " * 6,
        steps=("Шаг " * 30, "Заполните анкету", "Добавьте карту", "Покажите карту на кассе"),
    )
    for size in ("a4", "a5"):
        image = _png(content, size=size)
        assert _decode(image) == [content.join_url]
        _assert_margins_empty(image, content.background_color)


def test_a_long_unbroken_word_and_a_long_url_still_fit() -> None:
    content = replace(
        EN,
        headline="Supercalifragilisticexpialidocious" * 3,
        join_url="https://wallet.example.test/join/" + "a1b2c3d4e5" * 20 + "?utm_source=poster",
    )
    image = _png(content, size="a5")
    assert _decode(image) == [content.join_url]
    _assert_margins_empty(image, content.background_color)


def test_without_steps_and_subline_the_poster_still_renders() -> None:
    content = replace(EN, subline="", steps=())
    assert _decode(_png(content)) == [EN.join_url]


def test_logo_is_drawn_at_the_top() -> None:
    image = _png(RU, size="a5")
    top = image.crop((0, 0, image.width, image.height // 6))
    colors = {color for _, color in top.getcolors(1 << 20) or []}
    assert LOGO_GREEN in colors
    assert _hex(RU.accent_color) not in colors  # the brand name is not drawn over it


def test_without_a_logo_the_brand_name_is_drawn_in_the_accent_colour() -> None:
    without_logo = replace(RU, logo_png=None)
    image = _png(without_logo, size="a5")
    top = image.crop((0, 0, image.width, image.height // 6))
    colors = {color for _, color in top.getcolors(1 << 20) or []}
    assert _hex(RU.accent_color) in colors
    assert LOGO_GREEN not in colors
    other_brand = _png(replace(without_logo, brand_name="Другой магазин"), size="a5")
    assert other_brand.crop((0, 0, image.width, image.height // 6)).tobytes() != top.tobytes()


def test_unreadable_foreground_falls_back_to_a_contrasting_colour() -> None:
    content = replace(EN, foreground_color=EN.background_color, accent_color=EN.background_color)
    image = _png(content, size="a5")
    top = image.crop((0, 0, image.width, image.height // 4))
    assert (0, 0, 0) in {color for _, color in top.getcolors(1 << 20) or []}
    assert _decode(image) == [content.join_url]


@pytest.mark.parametrize(
    ("kwargs", "changes", "message"),
    [
        ({"size": "letter"}, {}, "unknown paper size 'letter'"),
        ({"size": "A3"}, {}, "unknown paper size"),
        ({"dpi": 10}, {}, "dpi must be"),
        ({"dpi": 5000}, {}, "dpi must be"),
        ({}, {"background_color": "red"}, "background_color must be a colour"),
        ({}, {"foreground_color": "#FFF"}, "foreground_color must be a colour"),
        ({}, {"accent_color": "#12345G"}, "accent_color must be a colour"),
        (
            {},
            {"join_url": "ftp://wallet.example.test/join"},
            "join_url must be an absolute http(s)",
        ),
        ({}, {"join_url": "javascript:alert(1)"}, "join_url must be"),
        ({}, {"join_url": "/join/corner-coffee"}, "join_url must be"),
        ({}, {"join_url": "https://"}, "join_url must be"),
        ({}, {"join_url": "https://wallet.example.test/a b"}, "join_url must be"),
        ({}, {"join_url": "https://[::1/join"}, "join_url must be"),
        ({}, {"join_url": "https://x.test/" + "z" * 500}, "join_url is too long"),
        ({}, {"join_url": "https://x.test/" + "z" * 3000}, "join_url is too long"),
        ({}, {"steps": ("1", "2", "3", "4", "5")}, "at most 4 steps"),
        ({}, {"logo_png": b"not a png"}, "logo_png is not a readable image"),
    ],
)
def test_bad_input_raises_poster_error_saying_what_is_wrong(
    kwargs: dict[str, object], changes: dict[str, object], message: str
) -> None:
    content = replace(EN, **changes)  # type: ignore[arg-type]
    for render in (render_poster_png, render_poster_pdf):
        with pytest.raises(PosterError, match=re.escape(message)):
            render(content, **kwargs)  # type: ignore[arg-type]


def test_poster_error_is_a_value_error() -> None:
    assert issubclass(PosterError, ValueError)


def test_without_dejavu_fonts_it_falls_back_to_pillows_default_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.posters import render

    monkeypatch.setattr(render, "_FONT_DIRS", ["/nonexistent/fonts"])
    render._font_path.cache_clear()
    render._font.cache_clear()
    try:
        assert render._font_path(True) is None
        for content in (EN, RU):
            assert _decode(_png(content, size="a5")) == [content.join_url]
    finally:
        render._font_path.cache_clear()
        render._font.cache_clear()
