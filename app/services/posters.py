"""QR posters for stores: the program's look, a call to action, the join link."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import astuple

from app import i18n
from app.loyalty.models import Program
from app.passes.templates import TemplateStore
from app.posters.render import PAPER_SIZES, PosterContent, render_poster_pdf, render_poster_png
from app.services import cards

__all__ = ["PAPER_SIZES", "cache_info", "clear_cache", "poster_content", "render"]

# Drawing a poster costs ~0.2 s of CPU and anyone may ask for one: keep the last few
# per process, keyed by what is drawn (program, size, language, format and the design).
CACHE_SIZE = 32
_cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_lock = threading.Lock()
_stats = [0, 0]  # hits, misses


def poster_content(
    templates: TemplateStore, program: Program, join_url: str, locale: str
) -> PosterContent:
    template = cards.template_of(program, templates)
    logo = template.images.get("logo@3x.png") or template.images.get("logo.png")
    tr = i18n.Translator(locale)
    bonus = program.registration_bonus
    headline = tr.gettext("Your {brand} card in 30 seconds", brand=program.brand_name)
    subline = tr.ngettext(
        "{num} point for adding the card · {discount} off every purchase",
        "{num} points for adding the card · {discount} off every purchase",
        bonus,
        num=i18n.format_number(bonus, locale),
        discount=i18n.format_percent(program.default_tier.discount_bp / 10000, locale, 2, True),
    )
    steps = (
        tr.gettext("Scan the code with your phone camera"),
        tr.gettext("Fill in the short form"),
        tr.gettext("Add the card to your phone's wallet"),
    )
    return PosterContent(
        join_url=join_url,
        brand_name=program.brand_name,
        headline=headline,
        subline=subline,
        steps=steps,
        background_color=program.background_color,
        foreground_color=program.foreground_color,
        accent_color=program.label_color,
        logo_png=logo,
    )


def render(
    templates: TemplateStore, program: Program, join_url: str, *, locale: str, size: str, fmt: str
) -> bytes:
    content = poster_content(templates, program, join_url, locale)
    key = (program.id, size, locale, fmt, design_version(content))
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            _stats[0] += 1
            return cached
        _stats[1] += 1
    data = (render_poster_pdf if fmt == "pdf" else render_poster_png)(content, size=size)
    with _lock:
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def design_version(content: PosterContent) -> str:
    """A digest of everything the poster shows: a change of design, texts, logo or
    join link names another poster."""
    digest = hashlib.sha256(repr(astuple(content)[:-1]).encode())
    digest.update(content.logo_png or b"")
    return digest.hexdigest()


def cache_info() -> tuple[int, int]:
    """(hits, misses) since the last clear_cache()."""
    with _lock:
        return _stats[0], _stats[1]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _stats[0] = _stats[1] = 0
