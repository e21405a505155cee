"""The look and texts of a program's card: the console's design form, its checks, saving
(every pass of the program then owes the phones an update) and preview images drawn from
values that are not saved yet."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.bounds import has_control_characters
from app.clock import Clock
from app.loyalty import rules
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program, Tier
from app.passes import sync
from app.passes.content import CardContent, card_content
from app.passes.models import WalletPass
from app.passes.templates import PassTemplate
from app.posters import card_preview
from app.services import google_class
from app.services.google_class import ClassQueue
from app.services.staff import audit
from app.staff.models import StaffUser

COLORS = ("background_color", "foreground_color", "label_color")
TEXTS = {"offer_ru": 200, "offer_en": 200}
URLS = {"terms_url": 300, "website_url": 300}
FIELDS = (*COLORS, *TEXTS, *URLS, "support_phone")
MIN_CONTRAST = 3.0  # WCAG 2 ratio for large text; Wallet's texts are short and big
WALLETS = ("apple", "google")

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_URL = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]*[0-9]$")
_PHONE_DIGITS = range(10, 16)

SAMPLE_NAMES = {"ru": "Анна Петрова", "en": "Anna Smith"}
SAMPLE_BALANCE = 2_000
_SAMPLE_BODY = "200000000000"
SAMPLE_NUMBER = _SAMPLE_BODY + rules.luhn_check_digit(_SAMPLE_BODY)
SAMPLE_CODE = "PREVIEW2K0"  # the random part of a real barcode
SAMPLE_SERIAL = "preview"


@dataclass(frozen=True)
class Problem:
    """Why a value was refused: ``code`` names the message, ``params`` fill it in."""

    code: str  # color | too_long | url | phone | contrast.foreground | contrast.label
    params: dict[str, Any] = field(default_factory=dict)


class DesignError(ValidationError):
    """The form has values that cannot be saved; ``problems`` by field."""

    def __init__(self, problems: Mapping[str, Problem]) -> None:
        self.problems = dict(problems)
        super().__init__({k: _english(p) for k, p in self.problems.items()})


def _english(problem: Problem) -> str:
    if problem.code.startswith("contrast."):
        what = "text" if problem.code == "contrast.foreground" else "label"
        return (
            f"{what} colour on the background reads poorly: contrast "
            f"{problem.params['ratio']}:1, needs at least {MIN_CONTRAST:g}:1"
        )
    return {
        "color": "expected a colour like #1A2B3C",
        "too_long": f"at most {problem.params.get('limit')} characters",
        "url": "expected a web address starting with http:// or https://",
        "phone": "expected a phone number with 10 to 15 digits",
    }.get(problem.code, problem.code)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#RRGGBB`` colours, 1 (same) to 21."""

    def luminance(color: str) -> float:
        channels = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def is_color(value: str) -> bool:
    return bool(_COLOR.match(value.strip()))


def design_form(program: Program) -> dict[str, str]:
    """The form's values as saved."""
    return {name: getattr(program, name) or "" for name in FIELDS}


def clean_design(values: Mapping[str, str]) -> tuple[dict[str, str | None], dict[str, Problem]]:
    """Every field cleaned (``None`` for an empty optional one), and what is wrong."""
    clean: dict[str, str | None] = {}
    problems: dict[str, Problem] = {}
    for name in COLORS:
        raw = (values.get(name) or "").strip()
        if _COLOR.match(raw):
            clean[name] = raw.upper()
        else:
            problems[name] = Problem("color")
    for name, limit in TEXTS.items():
        text = " ".join((values.get(name) or "").split())
        if has_control_characters(text):
            problems[name] = Problem("control")
        elif len(text) > limit:
            problems[name] = Problem("too_long", {"limit": limit})
        clean[name] = text or None
    for name, limit in URLS.items():
        url = (values.get(name) or "").strip()
        if url and (len(url) > limit or not _URL.match(url)):
            problems[name] = Problem("url")
        clean[name] = url or None
    phone = " ".join((values.get("support_phone") or "").split())
    digits = sum(ch.isdigit() for ch in phone)
    if phone and (not _PHONE.match(phone) or digits not in _PHONE_DIGITS):
        problems["support_phone"] = Problem("phone")
    clean["support_phone"] = phone or None
    background = clean.get("background_color")
    if background is not None:
        for name, code in (
            ("foreground_color", "contrast.foreground"),
            ("label_color", "contrast.label"),
        ):
            color = clean.get(name)
            if color is None:
                continue
            ratio = contrast(color, background)
            if ratio < MIN_CONTRAST:
                problems[name] = Problem(code, {"ratio": f"{ratio:.1f}"})
    return clean, problems


def apply_design(
    session: Session,
    clock: Clock,
    program: Program,
    values: Mapping[str, str],
    actor: StaffUser | str,
    google: ClassQueue | None = None,
) -> bool:
    """Save the design; True when the form's values changed. Raises ``DesignError`` (and
    changes nothing) when a value is wrong. A change is audited and marks every pass of
    the program changed: the phones fetch the new look after the commit, and (with
    ``google``) Google gets the class again, which carries the colour and logo."""
    clean, problems = clean_design(values)
    if problems:
        raise DesignError(problems)
    before = design_form(program)
    changed = {
        name: {"from": getattr(program, name), "to": value}
        for name, value in clean.items()
        if getattr(program, name) != value
    }
    if not changed:
        return False
    for name, value in clean.items():
        setattr(program, name, value)
    session.flush()
    audit(session, clock, actor, "design.updated", f"program:{program.slug}", {"changed": changed})
    sync.mark_program_changed(session, clock, program.id)
    if design_form(program) == before:
        return False
    google_class.resend_after_commit(session, google, program.id)
    return True


def _preview_values(program: Program, values: Mapping[str, str]) -> dict[str, str | None]:
    """The form's values where they are valid, the saved ones elsewhere."""
    clean, problems = clean_design({**design_form(program), **values})
    saved = {name: getattr(program, name) for name in FIELDS}
    return {name: saved[name] if name in problems else clean[name] for name in FIELDS}


def preview_content(
    session: Session,
    program: Program,
    values: Mapping[str, str],
    locale: str,
    template: PassTemplate,
) -> CardContent:
    """A sample card of the program with the unsaved form values applied. Everything is
    built from transient objects (copies of the program and its default tier) that never
    join the session, so nothing is flushed or written."""
    del session  # the program's tiers load through it; nothing else is read
    look = _preview_values(program, values)
    tier = program.default_tier
    sample_tier = Tier(
        code=tier.code,
        name_en=tier.name_en,
        name_ru=tier.name_ru,
        discount_bp=tier.discount_bp,
        is_default=True,
    )
    sample_program = Program(
        slug=program.slug,
        brand_name=program.brand_name,
        name=program.name,
        template=program.template,
        default_locale=program.default_locale,
        registration_bonus=program.registration_bonus,
        birthday_bonus=program.birthday_bonus,
        tiers=[sample_tier],
        stores=[],
        **look,
    )
    lang = locale if locale in SAMPLE_NAMES else "ru"
    member = Member(name=SAMPLE_NAMES[lang], locale=lang, phone="+70000000000")
    card = Card(
        number=SAMPLE_NUMBER,
        barcode_secret=SAMPLE_CODE,
        balance=SAMPLE_BALANCE,
        status="active",
        program=sample_program,
        member=member,
        tier=sample_tier,
    )
    wallet_pass = WalletPass(
        serial_number=SAMPLE_SERIAL,
        auth_token=SAMPLE_SERIAL,
        version=1,
        updated_at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    return card_content(card, wallet_pass, template)


def preview_png(
    session: Session,
    program: Program,
    values: Mapping[str, str],
    locale: str,
    template: PassTemplate,
    wallet: str,
) -> bytes:
    """The preview image of one wallet (``apple`` or ``google``)."""
    content = preview_content(session, program, values, locale, template)
    if wallet == "apple":
        return card_preview.render_apple_preview(content, template.images, locale)
    if wallet == "google":
        return card_preview.render_google_preview(
            content,
            template.images.get("logo@3x.png") or template.images.get("logo@2x.png"),
            template.images.get("strip@3x.png") or template.images.get("strip@2x.png"),
            content.colors.background,
            program.name,
            locale,
        )
    raise ValueError(f"unknown wallet {wallet!r}; expected one of {WALLETS}")
