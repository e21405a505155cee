"""Preview images of a card as Apple Wallet and Google Wallet roughly show it.

The console's design page shows these next to the form, so a marketer sees colours,
images and texts before saving. They are approximations drawn with Pillow at twice a
phone's width (750 px), not screenshots: the layout follows each wallet's slots
(Apple storeCard: logo and header, primary field over the strip, secondary and
auxiliary rows, the QR code with its alt text; Google loyalty card: logo, issuer and
program name, points and secondary points, the QR code, the hero image at the bottom).

``app.posters`` is independent of ``app.passes`` (import-linter), so the content is
read through the ``PreviewContent`` protocol, which ``app.passes.content.CardContent``
satisfies as it is.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import qrcode
from PIL import Image, ImageDraw, ImageOps
from qrcode.constants import ERROR_CORRECT_M

from app.posters.pixels import open_image
from app.posters.render import Font, _contrast, _font, _line_height

WIDTH = 750  # 375 pt at @2x
MARGIN = 16  # page around the card
PAD = 28  # inside the card
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PAGE = (242, 242, 247)
_BLACK, _WHITE = (0, 0, 0), (255, 255, 255)
_MAX_IMAGE_PIXELS = 4_000_000

RGB = tuple[int, int, int]


class PreviewField(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def slot(self) -> str: ...
    @property
    def label(self) -> Mapping[str, str]: ...
    @property
    def value(self) -> Mapping[str, str] | int: ...


class PreviewColors(Protocol):
    @property
    def background(self) -> str: ...
    @property
    def foreground(self) -> str: ...
    @property
    def label(self) -> str: ...


class PreviewContent(Protocol):
    """What the previews read of ``CardContent``."""

    @property
    def organization_name(self) -> str: ...
    @property
    def colors(self) -> PreviewColors: ...
    @property
    def barcode(self) -> str: ...
    @property
    def barcode_alt_text(self) -> str: ...
    @property
    def fields(self) -> Sequence[PreviewField]: ...


def render_apple_preview(content: PreviewContent, images: dict[str, bytes], locale: str) -> bytes:
    """The front of the Apple Wallet store card as PNG (750 px wide)."""
    bg = _rgb(content.colors.background, _BLACK)
    fg = _rgb(content.colors.foreground, _WHITE)
    label_ink = _rgb(content.colors.label, fg)
    inner = WIDTH - 2 * MARGIN
    card = Image.new("RGB", (inner, 2600), bg)
    draw = ImageDraw.Draw(card)
    by_slot = _slots(content.fields)

    # Top row: logo on the left, header fields on the right.
    y = 24
    logo = _image(images, "logo@2x.png", "logo@3x.png", "logo.png")
    row_height = 100
    if logo is not None:
        fitted = ImageOps.contain(logo, (320, 100))
        card.paste(fitted, (PAD, y + (row_height - fitted.height) // 2), fitted)
    else:
        text = _ellipsis(content.organization_name, _font(True, 34), inner // 2)
        draw.text((PAD, y + 30), text, font=_font(True, 34), fill=fg)
    right = inner - PAD
    for f in reversed(by_slot["header"]):
        value_font, label_font = _font(False, 34), _font(False, 20)
        label, value = _label(f, locale).upper(), _value(f, locale)
        width = max(draw.textlength(label, font=label_font), draw.textlength(value, value_font))
        draw.text((right, y + 14), label, font=label_font, fill=label_ink, anchor="ra")
        draw.text((right, y + 42), value, font=value_font, fill=fg, anchor="ra")
        right -= int(width) + 24
    y += row_height + 20

    # The strip with the primary field over it.
    strip = _image(images, "strip@2x.png", "strip@3x.png", "strip.png")
    strip_height = 246 * inner // WIDTH
    if strip is not None:
        strip = ImageOps.fit(strip.convert("RGB"), (inner, strip_height))
        card.paste(strip, (0, y))
    for f in by_slot["primary"][:1]:
        draw.text(
            (PAD, y + 40),
            _value(f, locale),
            font=_font(False, 84),
            fill=fg,
            stroke_width=1,
            stroke_fill=bg,
        )
        draw.text((PAD, y + 40 + 100), _label(f, locale).upper(), font=_font(False, 24), fill=fg)
    y += strip_height + 24

    # Secondary and auxiliary rows.
    for slot in ("secondary", "auxiliary"):
        y = _field_row(draw, by_slot[slot], locale, y, inner, fg, label_ink)

    # The QR code on white, its alt text below.
    y += 12
    y = _qr_box(card, content, y, inner)
    y += 36
    return _finish(card.crop((0, 0, inner, y)), radius=24)


def render_google_preview(
    content: PreviewContent,
    logo_png: bytes | None,
    hero_png: bytes | None,
    background_color: str,
    program_name: str,
    locale: str,
) -> bytes:
    """The Google Wallet loyalty card as PNG (750 px wide)."""
    bg = _rgb(background_color, _BLACK)
    ink = _BLACK if _contrast(_BLACK, bg) >= _contrast(_WHITE, bg) else _WHITE
    inner = WIDTH - 2 * MARGIN
    card = Image.new("RGB", (inner, 2600), bg)
    draw = ImageDraw.Draw(card)
    by_key = {f.key: f for f in content.fields}

    # Logo in a circle, the issuer's name, then the program's name.
    y = 32
    circle = 88
    badge = Image.new("RGB", (circle, circle), bg)
    logo = _decode(logo_png)
    if logo is not None:
        fitted = ImageOps.contain(logo, (circle - 12, circle - 12))
        badge.paste(fitted, ((circle - fitted.width) // 2, (circle - fitted.height) // 2), fitted)
    mask = Image.new("L", (circle, circle), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, circle - 1, circle - 1), fill=255)
    card.paste(badge, (PAD, y), mask)
    draw.ellipse((PAD, y, PAD + circle - 1, y + circle - 1), outline=ink, width=2)
    issuer_font = _font(False, 28)
    issuer = _ellipsis(content.organization_name, issuer_font, inner - 2 * PAD - circle - 24)
    draw.text((PAD + circle + 24, y + circle // 2), issuer, font=issuer_font, fill=ink, anchor="lm")
    y += circle + 28
    title_font = _font(True, 44)
    for line in _wrap(program_name, title_font, inner - 2 * PAD, 2):
        draw.text((PAD, y), line, font=title_font, fill=ink)
        y += _line_height(title_font)
    y += 24

    # loyaltyPoints (balance) and secondaryLoyaltyPoints (discount); account name below.
    columns = [by_key[k] for k in ("balance", "discount") if k in by_key]
    y = _field_row(draw, columns, locale, y, inner, ink, ink, value_size=40)
    if "member" in by_key:
        y = _field_row(draw, [by_key["member"]], locale, y, inner, ink, ink)

    y += 12
    y = _qr_box(card, content, y, inner)
    y += 32
    hero = _decode(hero_png)
    if hero is not None:
        height = round(inner * 369 / 1125)
        card.paste(ImageOps.fit(hero.convert("RGB"), (inner, height)), (0, y))
        y += height
    return _finish(card.crop((0, 0, inner, y)), radius=40)


# --- helpers -------------------------------------------------------------------------


def _rgb(value: str, fallback: RGB) -> RGB:
    if not isinstance(value, str) or not _HEX.match(value):
        return fallback
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _decode(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        with open_image(data) as image:
            if image.width * image.height > _MAX_IMAGE_PIXELS:
                return None
            return image.convert("RGBA")
    except (OSError, ValueError, SyntaxError):
        return None


def _image(images: dict[str, bytes], *names: str) -> Image.Image | None:
    for name in names:
        if name in images:
            return _decode(images[name])
    return None


def _slots(fields: Sequence[PreviewField]) -> dict[str, list[PreviewField]]:
    out: dict[str, list[PreviewField]] = {
        s: [] for s in ("header", "primary", "secondary", "auxiliary", "back")
    }
    for f in fields:
        out.setdefault(f.slot, []).append(f)
    return out


def _pick(text: Mapping[str, str], locale: str) -> str:
    return text.get(locale) or next(iter(text.values()), "")


def _label(f: PreviewField, locale: str) -> str:
    return _pick(f.label, locale)


def _value(f: PreviewField, locale: str) -> str:
    if isinstance(f.value, int):
        return f"{f.value:,}".replace(",", "\u00a0")
    return _pick(f.value, locale)


def _ellipsis(text: str, font: Font, width: float) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, font: Font, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if font.getlength(joined) <= width or not line:
            line = joined
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1] + " " + " ".join(lines[max_lines:])]
    return [_ellipsis(one, font, width) for one in lines]


def _field_row(
    draw: ImageDraw.ImageDraw,
    fields: Sequence[PreviewField],
    locale: str,
    y: int,
    inner: int,
    ink: RGB,
    label_ink: RGB,
    value_size: int = 30,
) -> int:
    """Fields side by side (label over value); a long text gets the row to itself."""
    if not fields:
        return y
    label_font, value_font = _font(False, 20), _font(False, value_size)
    column = (inner - 2 * PAD) // len(fields)
    bottom = y
    for i, f in enumerate(fields):
        x = PAD + i * column
        draw.text((x, y), _label(f, locale).upper(), font=label_font, fill=label_ink)
        lines = _wrap(_value(f, locale), value_font, column - 16, 3)
        line_y = y + _line_height(label_font) + 4
        for line in lines:
            draw.text((x, line_y), line, font=value_font, fill=ink)
            line_y += _line_height(value_font)
        bottom = max(bottom, line_y)
    return bottom + 20


def _qr_box(card: Image.Image, content: PreviewContent, y: int, inner: int) -> int:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2, box_size=1)
    code.add_data(content.barcode)
    code.make(fit=True)
    matrix = code.get_matrix()
    modules = len(matrix)
    box = max(2, 280 // modules)
    qr = Image.new("L", (modules, modules), 255)
    qr.putdata([0 if dark else 255 for row in matrix for dark in row])
    qr = qr.resize((modules * box, modules * box), Image.Resampling.NEAREST)
    alt_font = _font(False, 22)
    alt = _ellipsis(content.barcode_alt_text, alt_font, qr.width + 40)
    panel_w = qr.width + 48
    panel_h = qr.height + 24 + _line_height(alt_font) + 16
    x = (inner - panel_w) // 2
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((x, y, x + panel_w, y + panel_h), radius=16, fill=_WHITE)
    card.paste(qr.convert("RGB"), (x + 24, y + 12))
    draw.text((inner // 2, y + 12 + qr.height + 6), alt, font=alt_font, fill=_BLACK, anchor="ma")
    return y + panel_h


def _finish(card: Image.Image, radius: int) -> bytes:
    page = Image.new("RGB", (WIDTH, card.height + 2 * MARGIN), _PAGE)
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, card.width - 1, card.height - 1), radius, 255)
    page.paste(card, (MARGIN, MARGIN), mask)
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()
