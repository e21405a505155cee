"""Render a portrait poster (logo, call to action, join QR code, steps) as PNG or PDF."""

from __future__ import annotations

import io
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlsplit

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from app.posters.pixels import open_image

PAPER_SIZES: dict[str, tuple[int, int]] = {"a4": (210, 297), "a5": (148, 210)}  # millimetres

_FONT_DIRS = [  # Debian/Ubuntu (fonts-dejavu-core), Fedora/Alpine, Arch, Fedora (new), local
    *("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF"),
    *("/usr/share/fonts/dejavu-sans-fonts", "/usr/local/share/fonts"),
]
_GLUE = re.compile(r" ([·•|–—]) ")  # break after a separator, never before it
_GLUE_NAMES = re.compile(r"\b(Apple|Google) (Wallet|Pay)\b")
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_MAX_STEPS = 4
_MAX_QR_VERSION = 15  # 77 modules (up to ~410 URL bytes): >= 1 mm modules on A5
_MAX_LOGO_PIXELS = 4_000_000
# Layout attempts, roomiest first: (headline size, scale of the rest, QR share of the width).
_ATTEMPTS = [(h, 1.0, 0.54) for h in (7.5, 7.0, 6.5, 6.0, 5.5, 5.0)] + [
    (5.0, s, 0.54 - (1 - s) * 0.17) for s in (0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6)
]
_BLACK, _WHITE, _URL_INK = (0, 0, 0), (255, 255, 255), (45, 45, 45)

Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB: TypeAlias = tuple[int, int, int]
Painter: TypeAlias = Callable[[Image.Image, ImageDraw.ImageDraw, int], None]


class PosterError(ValueError):
    """The poster cannot be rendered from this input; the message says what is wrong."""


@dataclass(frozen=True)
class PosterContent:
    join_url: str  # absolute http(s) URL the QR code encodes, exactly
    brand_name: str
    headline: str
    subline: str
    steps: tuple[str, ...]  # at most 4 short steps, drawn as a numbered list
    background_color: str  # "#RRGGBB"
    foreground_color: str  # "#RRGGBB"
    accent_color: str  # "#RRGGBB"
    logo_png: bytes | None  # drawn at the top; None draws brand_name as text


@dataclass(frozen=True)
class _Block:
    height: int
    gap_after: int
    paint: Painter


@dataclass
class _Page:
    """One layout attempt: lengths are in ``u`` (1 % of the page width) times ``scale``."""

    width: int
    u: float
    scale: float
    fits: bool = True  # cleared when some text had to be cut short

    def px(self, units: float) -> int:
        return round(units * self.u * self.scale)


def render_poster_png(content: PosterContent, *, size: str = "a4", dpi: int = 150) -> bytes:
    """The poster as an optimised PNG of the paper size at ``dpi`` (with a pHYs chunk)."""
    out = io.BytesIO()
    _render(content, size, dpi).save(out, "PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def render_poster_pdf(content: PosterContent, *, size: str = "a4", dpi: int = 200) -> bytes:
    """The poster as a one-page PDF whose page is exactly the paper size in points."""
    out = io.BytesIO()
    image = _render(content, size, dpi)
    title = f"{content.brand_name} poster"
    image.save(out, "PDF", resolution=float(dpi), quality=92, subsampling=0, title=title)
    return out.getvalue()


def _render(content: PosterContent, size: str, dpi: int) -> Image.Image:
    paper = PAPER_SIZES.get(size.lower()) if isinstance(size, str) else None
    if paper is None:
        raise PosterError(f"unknown paper size {size!r}; expected one of {sorted(PAPER_SIZES)}")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 72 <= dpi <= 600:
        raise PosterError(f"dpi must be an integer from 72 to 600, got {dpi!r}")
    bg = _color("background_color", content.background_color)
    fg = _readable(_color("foreground_color", content.foreground_color), bg)
    accent = _color("accent_color", content.accent_color)
    _check_url(content.join_url)
    if len(content.steps) > _MAX_STEPS:
        raise PosterError(f"at most {_MAX_STEPS} steps fit on a poster, got {len(content.steps)}")
    logo = _load_logo(content.logo_png) if content.logo_png is not None else None
    matrix = _qr_matrix(content.join_url)

    width, height = (round(mm / 25.4 * dpi) for mm in paper)
    room = height - 10 * width / 100  # 5 % of the width above and below
    brand_ink = accent if _contrast(accent, bg) >= 3 else fg

    def layout(headline: float, scale: float, qr_share: float) -> tuple[list[_Block], int, _Page]:
        page = _Page(width, width / 100, scale)
        blocks = [
            _logo_block(logo, page)
            if logo
            else _text_block(content.brand_name, _font(True, page.px(5.5)), brand_ink, page, 1, 3),
            _text_block(content.headline, _font(True, page.px(headline)), fg, page, 3, 2),
            _text_block(content.subline, _font(False, page.px(3.4)), fg, page, 3, 4),
            _qr_block(matrix, content.join_url, page, qr_share),
            _steps_block(content.steps, accent, fg, page),
        ]
        blocks = [b for b in blocks if b.height > 0]
        return blocks, sum(b.height + b.gap_after for b in blocks) - blocks[-1].gap_after, page

    fallback = None
    for attempt in _ATTEMPTS:
        blocks, used, page = layout(*attempt)
        if used <= room and page.fits:
            break
        if used <= room and (attempt[1] == 1 or fallback is None):
            fallback = attempt  # text is cut short anyway: prefer full-size body text
    else:
        attempt = fallback or attempt
        blocks, used, page = layout(*attempt)
    headline, scale, qr_share = attempt
    if room - used > 0.1 * width:  # plenty of room left: a bigger QR code scans from farther
        grown = layout(headline, scale, min(0.64, qr_share + (room - used) * 0.6 / width))
        if grown[1] <= room and grown[2].fits >= page.fits:
            blocks, used, page = grown
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    slack = max(0.0, room - used) / (len(blocks) + 1)  # spread spare room evenly
    y = 5 * page.u + slack
    for block in blocks:
        block.paint(image, draw, round(y))
        y += block.height + block.gap_after + slack
    return image


def _color(field: str, value: str) -> RGB:
    if not isinstance(value, str) or not _HEX_COLOR.fullmatch(value):
        raise PosterError(f"{field} must be a colour like '#1A2B3C', got {value!r}")
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio, 1 (same) to 21 (black on white)."""

    def luminance(color: RGB) -> float:
        lin = [c / 3294.6 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in color]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _readable(color: RGB, on: RGB, minimum: float = 4.5) -> RGB:
    """``color`` if it reads well on ``on``, else black or white, whichever reads better."""
    if _contrast(color, on) >= minimum:
        return color
    return _BLACK if _contrast(_BLACK, on) >= _contrast(_WHITE, on) else _WHITE


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable()
    except (TypeError, ValueError, AttributeError):
        ok = False
    if not ok or " " in url:
        raise PosterError(f"join_url must be an absolute http(s) URL, got {url!r}")


def _load_logo(data: bytes) -> Image.Image:
    try:
        logo = open_image(data, formats=["PNG", "JPEG", "WEBP"])
        if logo.width * logo.height <= _MAX_LOGO_PIXELS:
            return logo.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise PosterError(f"logo_png is not a readable image: {exc}") from exc
    raise PosterError(f"logo_png is too large ({logo.width}x{logo.height} pixels)")


def _qr_matrix(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(url)  # beyond _MAX_QR_VERSION modules get too small to scan from a poster
    if len(url.encode()) > 1000 or code.best_fit() > _MAX_QR_VERSION:  # (qrcode fails past 40)
        raise PosterError(f"join_url is too long for a scannable QR code ({len(url)} characters)")
    code.make(fit=False)
    return code.get_matrix()  # includes the 4-module quiet zone


@lru_cache(maxsize=2)
def _font_path(bold: bool) -> str | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return next((str(p) for d in _FONT_DIRS if (p := Path(d) / name).is_file()), None)


@lru_cache(maxsize=64)
def _font(bold: bool, size: int) -> Font:
    path = _font_path(bold)
    if path is not None:
        return ImageFont.truetype(path, max(size, 6))
    return ImageFont.load_default(size=max(size, 6))  # no Cyrillic glyphs, but never fails


def _line_height(font: Font) -> int:
    return sum(font.getmetrics()) if isinstance(font, ImageFont.FreeTypeFont) else 12


def _wrap(text: str, font: Font, width: float, max_lines: int, page: _Page) -> list[str]:
    """Greedy word wrap; long words (URLs) are broken, lines past ``max_lines`` become "…"."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        paragraph = _GLUE_NAMES.sub("\\1\u00a0\\2", _GLUE.sub("\u00a0\\1 ", paragraph))
        line = ""
        for word in paragraph.split(" "):
            joined = f"{line} {word}" if line else word
            if not word or font.getlength(joined) <= width:
                line = joined if word else line
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and font.getlength(word) > width:  # break it, after "/" if can
                cut = max(1, _fitting_prefix(word, font, width))
                cut = max((i + 1 for i in range(cut // 2, cut) if word[i] in "/?&=.-"), default=cut)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            lines.append(line)
    if len(lines) > max_lines:
        page.fits = False
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def _fitting_prefix(word: str, font: Font, width: float) -> int:
    """Length of the longest proper prefix of ``word`` no wider than ``width``."""
    return bisect_right(range(1, len(word)), width, key=lambda i: font.getlength(word[:i]))


def _balanced_wrap(text: str, font: Font, width: float, max_lines: int, page: _Page) -> list[str]:
    """As many lines as greedy wrapping needs, but evenly long (no lonely last word)."""
    count = len(_wrap(text, font, width, 99, page))
    low, high = width / max(count, 1), width  # search the narrowest width keeping ``count``
    while 1 < count <= max_lines and high - low > 1:
        middle = (low + high) / 2
        fits = len(_wrap(text, font, middle, 99, page)) == count
        low, high = (low, middle) if fits else (middle, high)
    return _wrap(text, font, high, max_lines, page)


def _centered_lines(lines: list[str], font: Font, ink: RGB, center_x: float) -> Painter:
    pitch = _line_height(font)

    def paint(_image: Image.Image, draw: ImageDraw.ImageDraw, y: int) -> None:
        for i, line in enumerate(lines):
            draw.text((center_x - font.getlength(line) / 2, y + i * pitch), line, ink, font)

    return paint


def _text_block(text: str, font: Font, ink: RGB, page: _Page, max_lines: int, gap: float) -> _Block:
    lines = _balanced_wrap(text, font, 88 * page.u, max_lines, page)
    painter = _centered_lines(lines, font, ink, page.width / 2)
    return _Block(_line_height(font) * len(lines), round(gap * page.u), painter)


def _logo_block(logo: Image.Image, page: _Page) -> _Block:
    ratio = min(50 * page.u / logo.width, 10 * page.u / logo.height)
    size = (max(1, round(logo.width * ratio)), max(1, round(logo.height * ratio)))
    scaled = logo.resize(size, Image.Resampling.LANCZOS)

    def paint(image: Image.Image, _draw: ImageDraw.ImageDraw, y: int) -> None:
        image.paste(scaled, ((page.width - size[0]) // 2, y), scaled)

    return _Block(size[1], round(3 * page.u), paint)


def _qr_block(matrix: list[list[bool]], url: str, page: _Page, share: float) -> _Block:
    """The QR code (quiet zone included) on a white rounded card, the URL printed below."""
    n = len(matrix)
    module = max(int(share * page.width) // n, -(-int(0.455 * page.width) // n))
    side = module * n
    cells = bytes(0 if dark else 255 for row in matrix for dark in row)
    qr_image = Image.frombytes("L", (n, n), cells).resize((side, side), Image.Resampling.NEAREST)
    shown = url.removeprefix("https://")  # browsers add https:// themselves; http:// stays
    for text_units in (2.4, 2.2, 2.0, 2.2):  # shrink to one line, else wrap at full size
        font = _font(False, page.px(text_units))
        if font.getlength(shown) <= side - 5 * module:
            break
    lines = _wrap(shown, font, side - 5 * module, 3, page)
    card = Image.new("RGB", (side, side + _line_height(font) * len(lines) + 3 * module), _WHITE)
    card.paste(qr_image)
    _centered_lines(lines, font, _URL_INK, side / 2)(card, ImageDraw.Draw(card), side)
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, *card.size), radius=3 * module, fill=255)

    def paint(image: Image.Image, _draw: ImageDraw.ImageDraw, y: int) -> None:
        image.paste(card, ((page.width - side) // 2, y), mask)

    return _Block(card.height, round(4 * page.u), paint)


def _steps_block(steps: tuple[str, ...], accent: RGB, ink: RGB, page: _Page) -> _Block:
    """Numbered steps: an accent-coloured badge with the number, the step text beside it."""
    font = _font(False, page.px(3.4))
    pitch = _line_height(font)
    badge = round(pitch * 1.3)
    gap = badge // 2
    rows = [_wrap(step, font, 88 * page.u - badge - gap, 2, page) for step in steps]
    heights = [max(badge, (badge - pitch) // 2 + pitch * len(lines)) for lines in rows]
    spacing = round(pitch * 0.45)
    text_width = max((font.getlength(line) for lines in rows for line in lines), default=0)
    left = round((page.width - badge - gap - text_width) / 2)
    number_font = _font(True, round(badge * 0.55))
    number_ink = _readable(_WHITE, accent, 3.0)

    def paint(_image: Image.Image, draw: ImageDraw.ImageDraw, y: int) -> None:
        for number, (lines, height) in enumerate(zip(rows, heights, strict=True), 1):
            draw.ellipse((left, y, left + badge - 1, y + badge - 1), fill=accent)
            x0, y0, x1, y1 = draw.textbbox((0, 0), str(number), font=number_font)
            center = (left + (badge - x0 - x1) / 2, y + (badge - y0 - y1) / 2)
            draw.text(center, str(number), number_ink, number_font)
            for i, line in enumerate(lines):
                draw.text(
                    (left + badge + gap, y + (badge - pitch) // 2 + i * pitch), line, ink, font
                )
            y += height + spacing

    return _Block(sum(heights) + spacing * (len(rows) - 1) if rows else 0, 0, paint)
