"""QR posters for stores: the program's look, a call to action, the join link."""

from __future__ import annotations

from app.loyalty import rules
from app.loyalty.models import Program
from app.passes.templates import TemplateStore
from app.posters.render import PAPER_SIZES, PosterContent, render_poster_pdf, render_poster_png
from app.services import cards

__all__ = ["PAPER_SIZES", "poster_content", "render"]

_HEADLINES = {
    "en": "Your {brand} card in 30 seconds",
    "ru": "Карта {brand} за 30 секунд",
}
_SUBLINES = {
    "en": "{bonus} points for adding the card · {discount} off every purchase",
    "ru": "{bonus} баллов за добавление карты · скидка {discount} на каждую покупку",
}
_STEPS = {
    "en": (
        "Scan the code with your phone camera",
        "Fill in the short form",
        "Add the card to your phone's wallet",
    ),
    "ru": (
        "Наведите камеру телефона на код",
        "Заполните короткую анкету",
        "Добавьте карту в кошелёк телефона",
    ),
}


def poster_content(
    templates: TemplateStore, program: Program, join_url: str, locale: str
) -> PosterContent:
    template = cards.template_of(program, templates)
    logo = template.images.get("logo@3x.png") or template.images.get("logo.png")
    values = {
        "brand": program.brand_name,
        "bonus": rules.format_points(program.registration_bonus),
        "discount": rules.format_percent(program.default_tier.discount_bp),
    }
    headline = _HEADLINES[locale].format(**values)
    subline = _SUBLINES[locale].format(**values)
    return PosterContent(
        join_url=join_url,
        brand_name=program.brand_name,
        headline=headline,
        subline=subline,
        steps=_STEPS[locale],
        background_color=program.background_color,
        foreground_color=program.foreground_color,
        accent_color=program.label_color,
        logo_png=logo,
    )


def render(
    templates: TemplateStore, program: Program, join_url: str, *, locale: str, size: str, fmt: str
) -> bytes:
    content = poster_content(templates, program, join_url, locale)
    if fmt == "pdf":
        return render_poster_pdf(content, size=size)
    return render_poster_png(content, size=size)
