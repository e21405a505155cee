"""Google Wallet bodies: the LoyaltyObject shows what the Apple pass shows, and every
body we build is valid against Google's discovery document."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.passes.apple.passjson import render_pass_json
from app.passes.content import CardContent, Colors, Field, Location
from app.passes.google.objects import (
    ProgramLook,
    class_id,
    localized_string,
    loyalty_class,
    loyalty_object,
    message,
    object_id,
)
from app.passes.templates import LOCALES, Localized
from tests.google_schema import SchemaValidationError, errors, validate
from tests.helpers import PASS_TYPE_ID, TEAM_ID

ISSUER = "3388000000022195345"
NBSP = "\u00a0"


def lang(en: str, ru: str) -> Localized:
    return {"en": en, "ru": ru}


def same(text: str) -> Localized:
    return {code: text for code in LOCALES}


def card(*, locale: str = "ru", offer: bool = True, voided: bool = False) -> CardContent:
    """A card as app.passes.content.card_content builds it from the demo template."""
    fields = [
        Field("discount", "header", lang("Discount", "Скидка"), same(f"7{NBSP}%"),
              lang("Your discount is now %@", "Ваша скидка теперь %@")),
        Field("balance", "primary", lang("Points", "Баллы"), 1250,
              lang("Your balance: %@ points", "Ваш баланс: %@ баллов"), is_number=True),
        Field("member", "secondary", lang("Member", "Участник"), same("Анна Петрова")),
        Field("tier", "secondary", lang("Level", "Уровень"), lang("Gold", "Золотой")),
    ]  # fmt: skip
    if offer:
        fields.append(
            Field("offer", "auxiliary", lang("Offer for you", "Предложение для вас"),
                  lang("Double points on Fridays", "Двойные баллы по пятницам"))
        )  # fmt: skip
    fields += [
        Field("number", "back" if offer else "auxiliary", lang("Card number", "Номер карты"),
              same("4000 1234 5678 9010")),
        Field("how_it_works", "back", lang("How it works", "Как это работает"),
              lang(f"Show this card at the till. You get a permanent 7{NBSP}% discount.",
                   f"Покажите карту на кассе. Вы получаете постоянную скидку 7{NBSP}%.")),
        Field("terms", "back", lang("Program terms", "Правила программы"),
              same("https://example.com/little-steps/terms")),
        Field("website", "back", lang("Website", "Сайт"), same("https://example.com/little-steps")),
        Field("support", "back", lang("Customer care", "Служба заботы"), same("+7 800 000-00-00")),
    ]  # fmt: skip
    return CardContent(
        template="little-steps",
        serial_number="Zq3xV8kP2mN5rT7wY9aB1c",
        auth_token="t" * 32,
        locale=locale,
        organization_name="Маленькие шаги",
        description=lang("Little Steps loyalty card", "Карта лояльности «Маленькие шаги»"),
        colors=Colors("#1F4E79", "#FFFFFF", "#DDEEFF"),
        barcode="4000123456789010-K7QX2M9T",
        barcode_alt_text="4000 1234 5678 9010",
        fields=tuple(fields),
        locations=(Location(55.75, 37.61, lang("Store", "Магазин")),),
        voided=voided,
    )


def look(**overrides: Any) -> ProgramLook:
    base = ProgramLook(
        program_slug="little-steps",
        issuer_name="Маленькие шаги",
        program_name="Клуб «Маленькие шаги»",
        logo_url="https://wallet.example.test/static/programs/little-steps/logo.png",
        hero_image_url="https://wallet.example.test/static/programs/little-steps/hero.png",
        background_color="#1F4E79",
        callback_url="https://wallet.example.test/google/callback",
        locations=tuple((55.0 + i / 100, 37.0) for i in range(12)),
        locale="ru",
        account_name_label=lang("Member", "Участник"),
        account_id_label=lang("Card number", "Номер карты"),
    )
    return replace(base, **overrides)


# -- reading both renderings in a given language ------------------------------------


def apple_fields(content: CardContent) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    data, _ = render_pass_json(
        content,
        pass_type_id=PASS_TYPE_ID,
        team_id=TEAM_ID,
        web_service_url="https://wallet.example.test/passkit",
    )
    fields = {f["key"]: f for slot in data["storeCard"].values() for f in slot}
    return data, fields


def apple_text(content: CardContent, literal: Any, language: str) -> str:
    """What Wallet shows on a phone in ``language``: the literal through pass.strings."""
    _, tables = render_pass_json(
        content, pass_type_id=PASS_TYPE_ID, team_id=TEAM_ID, web_service_url="https://x.test"
    )
    return str(tables[language].get(literal, literal)) if isinstance(literal, str) else literal


def google_text(localized: dict[str, Any], language: str) -> str:
    if localized["defaultValue"]["language"] == language:
        return str(localized["defaultValue"]["value"])
    found = [t["value"] for t in localized.get("translatedValues", []) if t["language"] == language]
    assert len(found) == 1, f"no single {language} translation in {localized}"
    return str(found[0])


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("offer", [True, False])
def test_google_object_agrees_with_the_apple_pass_field_by_field(locale: str, offer: bool) -> None:
    content = card(locale=locale, offer=offer)
    pass_json, apple = apple_fields(content)
    obj = loyalty_object(ISSUER, "little-steps", content)
    texts = {m["id"]: m for m in obj["textModulesData"]}
    links = {u["id"]: u for u in obj["linksModuleData"]["uris"]}

    assert obj["barcode"] == {
        "type": "QR_CODE",
        "value": pass_json["barcodes"][0]["message"],
        "alternateText": pass_json["barcodes"][0]["altText"],
    }
    assert obj["loyaltyPoints"]["balance"] == {"int": apple["balance"]["value"]} == {"int": 1250}
    assert obj["accountName"] == apple["member"]["value"] == "Анна Петрова"
    assert obj["accountId"] == apple["number"]["value"] == "4000 1234 5678 9010"
    assert obj["secondaryLoyaltyPoints"]["balance"] == {"string": apple["discount"]["value"]}
    assert ("offer" in texts) is offer is ("offer" in apple)
    back_texts = {k for k, f in apple.items() if k in texts}
    assert back_texts == set(texts) == {"tier", "how_it_works"} | ({"offer"} if offer else set())
    assert set(links) == {"terms", "website", "support"}
    assert set(apple) == set(texts) | set(links) | {"balance", "discount", "member", "number"}

    for language in LOCALES:

        def shown(key: str, part: str, language: str = language) -> str:
            return apple_text(content, apple[key][part], language)

        points, secondary = obj["loyaltyPoints"], obj["secondaryLoyaltyPoints"]
        assert google_text(points["localizedLabel"], language) == shown("balance", "label")
        assert google_text(secondary["localizedLabel"], language) == shown("discount", "label")
        for key, module in texts.items():
            assert google_text(module["localizedHeader"], language) == shown(key, "label")
            assert google_text(module["localizedBody"], language) == shown(key, "value")
        for key, link in links.items():
            assert google_text(link["localizedDescription"], language) == shown(key, "label")
    # Plain texts (for old clients) are the member's language, like pass.json's literals.
    assert obj["loyaltyPoints"]["label"] == apple["balance"]["label"]
    assert texts["tier"]["header"] == apple["tier"]["label"]
    assert texts["tier"]["body"] == apple["tier"]["value"]
    assert links["terms"]["uri"] == apple["terms"]["value"]
    assert links["website"]["uri"] == apple["website"]["value"]
    assert links["support"]["uri"] == "tel:+78000000000"
    validate("LoyaltyObject", obj)


def test_member_language_is_the_default_value_and_front_fields_come_first() -> None:
    obj = loyalty_object(ISSUER, "little-steps", card(locale="en"))
    label = obj["loyaltyPoints"]["localizedLabel"]
    assert label == {
        "defaultValue": {"language": "en", "value": "Points"},
        "translatedValues": [{"language": "ru", "value": "Баллы"}],
    }
    assert [m["id"] for m in obj["textModulesData"]] == ["tier", "offer", "how_it_works"]
    assert localized_string({"ru": "Да"}, "en") == {
        "defaultValue": {"language": "ru", "value": "Да"}
    }


def test_ids_keep_only_the_characters_google_accepts() -> None:
    assert class_id(ISSUER, "little-steps") == f"{ISSUER}.little-steps"
    assert class_id(ISSUER, "кофе & co") == f"{ISSUER}._______co"
    assert object_id(ISSUER, "Zq3x/V8+kP=") == f"{ISSUER}.Zq3x_V8_kP_"
    obj = loyalty_object(ISSUER, "little-steps", card())
    assert obj["id"] == f"{ISSUER}.Zq3xV8kP2mN5rT7wY9aB1c"
    assert obj["classId"] == f"{ISSUER}.little-steps"
    for bad_issuer in ("", "33 88"):
        with pytest.raises(ValueError):
            class_id(bad_issuer, "x")
    with pytest.raises(ValueError):
        object_id(ISSUER, "")


def test_state_follows_the_card_unless_told() -> None:
    assert loyalty_object(ISSUER, "p", card())["state"] == "ACTIVE"
    assert loyalty_object(ISSUER, "p", card(voided=True))["state"] == "INACTIVE"
    assert loyalty_object(ISSUER, "p", card(voided=True), state="EXPIRED")["state"] == "EXPIRED"
    assert loyalty_object(ISSUER, "p", card(), state="COMPLETED")["state"] == "COMPLETED"


def test_rotating_barcode_replaces_the_static_one() -> None:
    content = card()
    obj = loyalty_object(
        ISSUER, "p", content, rotating_totp_key_hex="3132333435363738393031323334353637383930abcd"
    )
    assert "barcode" not in obj
    rotating = obj["rotatingBarcode"]
    assert rotating["type"] == "QR_CODE"
    assert rotating["valuePattern"] == content.barcode + "-{totp_value_0}"
    assert rotating["alternateText"] == content.barcode_alt_text
    assert rotating["totpDetails"] == {
        "algorithm": "TOTP_SHA1",
        "periodMillis": "30000",
        "parameters": [{"key": "3132333435363738393031323334353637383930ABCD", "valueLength": 6}],
    }
    validate("LoyaltyObject", obj)
    slow = loyalty_object(ISSUER, "p", content, rotating_totp_key_hex="00ff", totp_period_ms=60_000)
    assert slow["rotatingBarcode"]["totpDetails"]["periodMillis"] == "60000"
    for bad in ("xyz", "abc", ""):
        with pytest.raises(ValueError):
            loyalty_object(ISSUER, "p", content, rotating_totp_key_hex=bad)


def test_text_modules_are_capped_and_only_addresses_and_phones_become_links() -> None:
    extra = tuple(
        Field(f"note_{i}", "back", lang(f"Note {i}", f"Заметка {i}"), lang(f"n{i}", f"з{i}"))
        for i in range(12)
    )
    odd = (
        Field("season", "back", lang("Season", "Сезон"), same("2025-2026")),
        Field(
            "mixed", "back", lang("Site", "Сайт"), lang("https://a.test/en", "https://a.test/ru")
        ),
        Field("box", "back", lang("Box", "Ящик"), same("8 800 555-35-35")),
    )
    content = replace(card(), fields=(*odd, *card().fields, *extra))
    obj = loyalty_object(ISSUER, "p", content)
    ids = [m["id"] for m in obj["textModulesData"]]
    assert len(ids) == 10
    assert ids[:4] == ["tier", "offer", "season", "mixed"]
    uris = {u["id"]: u["uri"] for u in obj["linksModuleData"]["uris"]}
    assert uris["box"] == "tel:88005553535"
    assert "season" not in uris and "mixed" not in uris
    validate("LoyaltyObject", obj)


def test_modules_are_always_present_so_a_patch_clears_them() -> None:
    bare = replace(card(), fields=tuple(f for f in card().fields if f.slot != "back"))
    bare = replace(bare, fields=tuple(f for f in bare.fields if f.key not in ("tier", "offer")))
    obj = loyalty_object(ISSUER, "p", bare)
    assert obj["textModulesData"] == []
    assert obj["linksModuleData"] == {"uris": []}
    validate("LoyaltyObject", obj)


def test_loyalty_class_carries_the_program_look() -> None:
    body = loyalty_class(ISSUER, look())
    assert body["id"] == f"{ISSUER}.little-steps"
    assert body["issuerName"] == "Маленькие шаги"
    assert body["programName"] == "Клуб «Маленькие шаги»"
    assert body["programLogo"]["sourceUri"]["uri"].endswith("/logo.png")
    assert body["heroImage"]["sourceUri"]["uri"].endswith("/hero.png")
    assert body["hexBackgroundColor"] == "#1f4e79"
    assert body["reviewStatus"] == "UNDER_REVIEW"
    assert body["callbackOptions"] == {"url": "https://wallet.example.test/google/callback"}
    assert len(body["merchantLocations"]) == 10
    assert body["merchantLocations"][0] == {"latitude": 55.0, "longitude": 37.0}
    assert google_text(body["localizedAccountIdLabel"], "en") == "Card number"
    assert body["accountNameLabel"] == "Участник"
    validate("LoyaltyClass", body)

    plain = loyalty_class(
        ISSUER,
        look(hero_image_url=None, callback_url=None, locations=(), account_name_label=None),
        review_status="DRAFT",
    )
    assert plain["reviewStatus"] == "DRAFT"
    assert plain["merchantLocations"] == []
    assert {"heroImage", "callbackOptions", "accountNameLabel"}.isdisjoint(plain)
    validate("LoyaltyClass", plain)
    with pytest.raises(ValueError):
        loyalty_class(ISSUER, look(background_color="blue"))


def test_message_builder_makes_a_valid_add_message_request() -> None:
    quiet = message("promo-1", lang("News", "Новости"), lang("Hi", "Привет"), language="ru")
    loud = message(
        "promo 2", lang("News", "Новости"), lang("Hi", "Привет"), language="en", notify=True
    )
    assert quiet["messageType"] == "TEXT" and loud["messageType"] == "TEXT_AND_NOTIFY"
    assert quiet["header"] == "Новости" and loud["body"] == "Hi" and loud["id"] == "promo_2"
    validate("AddMessageRequest", {"message": quiet})
    validate("AddMessageRequest", {"message": loud})


# -- the validator the fake and these tests rely on ----------------------------------


def test_the_validator_catches_what_google_would_not_accept() -> None:
    bad = {
        "id": f"{ISSUER}.x",
        "barcode": {"typ": "QR_CODE"},
        "state": "ACTIV",
        "loyaltyPoints": {"balance": {"int": "12"}},
        "textModulesData": {"header": "not a list"},
        "accountName": None,
        "hasUsers": "yes",
    }
    found = errors("LoyaltyObject", bad)
    assert "$.barcode.typ: unknown field 'typ' of Barcode" in found
    assert any(e.startswith("$.state: 'ACTIV' is not one of") for e in found)
    assert "$.loyaltyPoints.balance.int: expected an integer, got a string" in found
    assert "$.textModulesData: expected an array, got an object" in found
    assert "$.accountName: null is not allowed" in found
    assert "$.hasUsers: expected a boolean, got a string" in found
    assert len(found) == 6
    with pytest.raises(SchemaValidationError, match="invalid LoyaltyObject"):
        validate("LoyaltyObject", bad)


def test_int64_strings_and_deprecated_fields() -> None:
    money = {"money": {"currencyCode": "RUB", "micros": "1500000"}}
    assert errors("LoyaltyPointsBalance", money) == []
    assert errors("LoyaltyPointsBalance", {"money": {"micros": 1_500_000}}) == []
    assert errors("LoyaltyPointsBalance", {"money": {"micros": "1.5"}}) != []
    assert errors("LoyaltyPointsBalance", {"double": 1}) == []
    assert errors("LoyaltyPointsBalance", {"double": True}) != []
    located = {"locations": [{"latitude": 1.0, "longitude": 2.0}]}
    assert errors("LoyaltyObject", located, allow_deprecated=True) == []
    assert errors("LoyaltyObject", located) == [
        "$.locations: field 'locations' of LoyaltyObject is deprecated"
    ]
    with pytest.raises(KeyError):
        errors("NoSuchThing", {})
