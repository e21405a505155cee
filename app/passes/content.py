"""Platform-neutral content of a card's pass.

``card_content`` turns a card, its program and template into ``CardContent``; the
Apple renderer (pass.json) and later the Google renderer (LoyaltyObject) both read
only this, so the two wallets cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from app.loyalty import rules
from app.loyalty.models import Card, Program
from app.passes import placeholders
from app.passes.models import WalletPass
from app.passes.templates import LOCALES, Localized, PassTemplate

MAX_LOCATIONS = 10  # Apple shows at most ten relevant locations


@dataclass(frozen=True)
class Field:
    key: str
    slot: str  # header | primary | secondary | auxiliary | back
    label: Localized
    value: Localized | int
    change_message: Localized | None = None
    is_number: bool = False


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    relevant_text: Localized | None


@dataclass(frozen=True)
class Colors:
    background: str
    foreground: str
    label: str


@dataclass(frozen=True)
class CardContent:
    template: str
    serial_number: str
    auth_token: str
    locale: str
    organization_name: str
    description: Localized
    colors: Colors
    barcode: str
    barcode_alt_text: str
    fields: tuple[Field, ...]
    locations: tuple[Location, ...] = ()
    updated_at: datetime | None = None
    voided: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def _same(text: str) -> Localized:
    return {lang: text for lang in LOCALES}


def _by_locale(fn: object) -> Localized:
    assert callable(fn)
    return {lang: str(fn(lang)) for lang in LOCALES}


def _back_values(facts: PassFacts) -> dict[str, str]:
    return {
        "discount": rules.format_percent(facts.tier_discount_bp),
        "registration_bonus": rules.format_points(facts.registration_bonus),
        "birthday_bonus": rules.format_points(facts.birthday_bonus),
        "terms_url": facts.terms_url or "",
        "website_url": facts.website_url or "",
        "support_phone": facts.support_phone or "",
    }


def all_locations(program: Program) -> tuple[Location, ...]:
    """Every store of the program with coordinates (a card shows ten of them)."""
    return tuple(
        Location(
            store.latitude,
            store.longitude,
            {
                "en": store.relevant_text_en or store.name,
                "ru": store.relevant_text_ru or store.name,
            },
        )
        for store in program.stores
        if store.latitude is not None and store.longitude is not None
    )


def locations_of(program: Program) -> tuple[Location, ...]:
    """Where the card shows on the lock screen: the program's first ten stores with
    coordinates (see ``nearest`` for a card's own ten)."""
    return all_locations(program)[:MAX_LOCATIONS]


def nearest(
    locations: tuple[Location, ...], near: tuple[float, float] | None
) -> tuple[Location, ...]:
    """The ten of ``locations`` closest to ``near`` (a card holder's store), as Apple
    shows at most ten; the first ten when there is no such point."""
    if near is None or len(locations) <= MAX_LOCATIONS:
        return locations[:MAX_LOCATIONS]
    lat0, lon0 = math.radians(near[0]), math.radians(near[1])

    def distance(loc: Location) -> float:  # haversine, on a unit sphere
        lat, lon = math.radians(loc.latitude), math.radians(loc.longitude)
        a = (
            math.sin((lat - lat0) / 2) ** 2
            + math.cos(lat0) * math.cos(lat) * math.sin((lon - lon0) / 2) ** 2
        )
        return 2 * math.asin(min(1.0, math.sqrt(a)))

    return tuple(sorted(locations, key=distance)[:MAX_LOCATIONS])


@dataclass(frozen=True)
class PassFacts:
    """Everything of a card, its pass, member, tier and program that its pass shows, as
    plain values: the fetch path reads them in one Core statement, without building
    ORM objects (``facts_of`` gives the same from loaded objects)."""

    number: str
    barcode_secret: str
    balance: int
    status: str
    offer_en: str | None  # the card's own offer, else the program's
    offer_ru: str | None
    member_name: str
    member_locale: str
    tier_discount_bp: int
    tier_name_en: str
    tier_name_ru: str
    serial_number: str
    auth_token: str
    updated_at: datetime
    voided_number: str | None
    brand_name: str
    default_locale: str
    background_color: str
    foreground_color: str
    label_color: str
    registration_bonus: int
    birthday_bonus: int
    terms_url: str | None
    website_url: str | None
    support_phone: str | None

    def offer(self, locale: str) -> str | None:
        return self.offer_ru if locale == "ru" else self.offer_en

    def tier_name(self, locale: str) -> str:
        return self.tier_name_ru if locale == "ru" else self.tier_name_en


def facts_of(card: Card, wallet_pass: WalletPass) -> PassFacts:
    program, member, tier = card.program, card.member, card.tier
    return PassFacts(
        number=card.number,
        barcode_secret=card.barcode_secret,
        balance=card.balance,
        status=card.status,
        offer_en=card.offer("en"),
        offer_ru=card.offer("ru"),
        member_name=member.name,
        member_locale=member.locale,
        tier_discount_bp=tier.discount_bp,
        tier_name_en=tier.name_en,
        tier_name_ru=tier.name_ru,
        serial_number=wallet_pass.serial_number,
        auth_token=wallet_pass.auth_token,
        updated_at=wallet_pass.updated_at,
        voided_number=wallet_pass.voided_number,
        brand_name=program.brand_name,
        default_locale=program.default_locale,
        background_color=program.background_color,
        foreground_color=program.foreground_color,
        label_color=program.label_color,
        registration_bonus=program.registration_bonus,
        birthday_bonus=program.birthday_bonus,
        terms_url=program.terms_url,
        website_url=program.website_url,
        support_phone=program.support_phone,
    )


def card_content(
    card: Card,
    wallet_pass: WalletPass,
    template: PassTemplate,
    locations: tuple[Location, ...] | None = None,
) -> CardContent:
    """``locations`` defaults to the program's stores (pass them when already known)."""
    if locations is None:
        locations = locations_of(card.program)
    return content_of_facts(facts_of(card, wallet_pass), template, locations)


def content_of_facts(
    facts: PassFacts, template: PassTemplate, locations: tuple[Location, ...]
) -> CardContent:
    # A pass voided by a replacement shows its old number and never the new barcode.
    replaced = facts.voided_number is not None
    number = facts.voided_number or facts.number
    barcode = number if replaced else rules.barcode_value(facts.number, facts.barcode_secret)
    fields: list[Field] = [
        Field(
            "discount",
            "header",
            template.label("discount"),
            _same(rules.format_percent(facts.tier_discount_bp)),
            template.change_messages.get("discount"),
        ),
        Field(
            "balance",
            "primary",
            template.label("balance"),
            facts.balance,
            template.change_messages.get("balance"),
            is_number=True,
        ),
        Field("member", "secondary", template.label("member"), _same(facts.member_name)),
        Field(
            "tier",
            "secondary",
            template.label("tier"),
            _by_locale(facts.tier_name),
            template.change_messages.get("tier"),
        ),
    ]
    offer = {lang: facts.offer(lang) or "" for lang in LOCALES}
    if any(offer.values()):
        fallback = offer[facts.default_locale] or next(v for v in offer.values() if v)
        fields.append(
            Field(
                "offer",
                "auxiliary",
                template.label("offer"),
                {lang: text or fallback for lang, text in offer.items()},
                template.change_messages.get("offer"),
            )
        )
    fields.append(
        Field(
            "number",
            "auxiliary" if not any(offer.values()) else "back",
            template.label("number"),
            _same(rules.format_card_number(number)),
        )
    )
    values = _back_values(facts)
    for back in template.back_fields:
        text = {lang: placeholders.render(back.value[lang], values) for lang in LOCALES}
        if all(t.strip() for t in text.values()):
            fields.append(Field(back.key, "back", back.label, text))
    return CardContent(
        template=template.slug,
        serial_number=facts.serial_number,
        auth_token=facts.auth_token,
        locale=facts.member_locale,
        organization_name=facts.brand_name,
        description=template.description,
        colors=Colors(facts.background_color, facts.foreground_color, facts.label_color),
        barcode=barcode,
        barcode_alt_text=rules.format_card_number(number),
        fields=tuple(fields),
        locations=locations,
        updated_at=facts.updated_at,
        voided=facts.status != "active" or replaced,
    )
