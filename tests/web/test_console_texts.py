"""A program's own card labels and back texts: edited in the console as a draft with a
preview, and reaching the cards only once published."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, Program
from app.passes.models import WalletPass
from app.services import cards, enrollment
from app.staff.models import AuditEntry
from tests.helpers import Pkpass, console_login


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/programs/demo/texts").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def draft_form(client: FlaskClient, back: str = "texts") -> dict[str, str]:
    """What the publish and discard buttons send: CSRF token, page, draft fingerprint."""
    page = client.get(f"/console/programs/demo/{back}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    seen = re.search(r'name="draft" value="([^"]+)"', page)
    return {"csrf_token": token, "back": back, "draft": seen.group(1) if seen else ""}


def enrolled(session: Session, services: Services, demo: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="T", phone=phone, consent=True, locale="ru")
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    return card


def version_of(session: Session, card: Card) -> int:
    session.expire_all()
    return session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id)) or 0


def fields_of(session: Session, services: Services, card: Card) -> dict[str, dict[str, str]]:
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    return {f["key"]: f for slot in pkpass.pass_json["storeCard"].values() for f in slot}


def preview(client: FlaskClient, wallet: str = "apple") -> bytes:
    response = client.get(f"/console/programs/demo/draft/preview/{wallet}.png?hl=ru")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    Image.open(io.BytesIO(response.data)).verify()
    return response.data


def test_texts_wait_in_a_draft_with_a_preview_until_published(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enrolled(session, services, demo, "+79161238888")
    console_login(client, session, services, "marketer")
    page = client.get("/console/programs/demo/texts").get_data(as_text=True)
    assert 'name="label.balance.ru"' in page and "Баллы" in page
    assert 'id="draft-none"' in page  # nothing waits yet
    published_look = {w: preview(client, w) for w in ("apple", "google")}

    bad = client.post(
        "/console/programs/demo/texts",
        data={
            "csrf_token": csrf(client),
            "label.balance.ru": "",
            "back.how_it_works.en": "Get {cashback}",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-field="label.balance.ru"' in html and "{cashback}" in html
    session.expire_all()
    assert session.get(Program, demo.id).card_texts_draft is None  # type: ignore[union-attr]

    version = version_of(session, card)
    drafted = client.post(
        "/console/programs/demo/texts",
        data={
            "csrf_token": csrf(client),
            "label.balance.ru": "Бонусы",
            "back.how_it_works.ru": "Скидка {discount} всегда.",
        },
    )
    assert drafted.status_code == 303 and drafted.location.endswith("/texts#draft")
    # Nothing reached the phones: same version, same pass.
    assert version_of(session, card) == version
    assert fields_of(session, services, card)["balance"]["label"] == "Баллы"
    page = client.get("/console/programs/demo/texts").get_data(as_text=True)
    assert 'value="Бонусы"' in page  # the form shows the draft
    pending = re.findall(r'<li data-pending="text">([^<]+)</li>', page)
    assert pending == ["Подпись «Баллы» · по-русски", "Оборот «Как это работает» · по-русски"]
    for wallet in ("apple", "google"):
        assert preview(client, wallet) != published_look[wallet]
    # The design page, whose previews show the published texts, points to the draft.
    design_page = client.get("/console/programs/demo/design").get_data(as_text=True)
    assert 'id="draft-pending-note"' in design_page and "/texts#draft" in design_page

    published = client.post("/console/programs/demo/draft/publish", data=draft_form(client))
    assert published.status_code == 303
    assert published.location.endswith("/console/programs/demo/texts")
    assert version_of(session, card) == version + 1
    fields = fields_of(session, services, card)
    assert fields["balance"]["label"] == "Бонусы"
    assert fields["how_it_works"]["value"] == "Скидка 7\u00a0% всегда."
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert pkpass.strings("en")["Бонусы"] == "Points"  # English keeps the template's label
    assert 'id="draft-none"' in client.get("/console/programs/demo/texts").get_data(as_text=True)
    design_page = client.get("/console/programs/demo/design").get_data(as_text=True)
    assert 'id="draft-pending-note"' not in design_page
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["card_texts.drafted", "design.published"]

    # Publishing again, or saving the published texts unchanged, sends nothing.
    client.post("/console/programs/demo/draft/publish", data=draft_form(client))
    client.post("/console/programs/demo/texts", data={"csrf_token": csrf(client)})
    assert version_of(session, card) == version + 1
    assert session.get(Program, demo.id).card_texts_draft is None  # type: ignore[union-attr]


def test_a_discarded_draft_never_reaches_the_cards(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enrolled(session, services, demo, "+79161238889")
    console_login(client, session, services, "admin")
    version = version_of(session, card)
    client.post(
        "/console/programs/demo/texts",
        data={"csrf_token": csrf(client), "label.balance.en": "Bonus"},
    )
    # Editing the draft back to the published text leaves nothing to publish.
    client.post(
        "/console/programs/demo/texts",
        data={"csrf_token": csrf(client), "label.balance.en": "Points"},
    )
    assert 'id="draft-none"' in client.get("/console/programs/demo/texts").get_data(as_text=True)
    client.post(
        "/console/programs/demo/texts",
        data={"csrf_token": csrf(client), "label.balance.en": "Bonus"},
    )
    no_token = {**draft_form(client), "csrf_token": ""}
    refused = client.post("/console/programs/demo/draft/publish", data=no_token)
    assert refused.status_code == 303  # no CSRF token: the draft stays a draft
    assert version_of(session, card) == version
    assert session.get(Program, demo.id).card_texts_draft is not None  # type: ignore[union-attr]
    discarded = client.post("/console/programs/demo/draft/discard", data=draft_form(client))
    assert discarded.status_code == 303
    session.expire_all()
    assert session.get(Program, demo.id).card_texts_draft is None  # type: ignore[union-attr]
    client.post("/console/programs/demo/draft/publish", data=draft_form(client))
    assert version_of(session, card) == version
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert "Bonus" not in pkpass.strings("en").values()
    assert "design.draft_discarded" in session.scalars(select(AuditEntry.action)).all()


def test_store_managers_cannot_publish(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "store_manager")
    assert client.get("/console/programs/demo/texts").status_code == 403
    for path in ("draft/publish", "draft/discard", "texts", "images"):
        assert client.post(f"/console/programs/demo/{path}").status_code == 403
    for path in ("draft/preview/apple.png", "draft/images/logo@2x.png", "images"):
        assert client.get(f"/console/programs/demo/{path}").status_code == 403


def test_a_draft_edited_after_the_page_was_opened_is_neither_published_nor_discarded(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enrolled(session, services, demo, "+79161238890")
    console_login(client, session, services, "marketer")
    version = version_of(session, card)
    client.post(
        "/console/programs/demo/texts", data={"csrf_token": csrf(client), "label.tier.en": "Tier"}
    )
    looked_at = draft_form(client)  # the page with the preview of "Tier"
    client.post(  # a colleague (or another tab) edits the draft meanwhile
        "/console/programs/demo/texts", data={"csrf_token": csrf(client), "label.tier.en": "Rank"}
    )
    for action in ("publish", "discard"):
        refused = client.post(f"/console/programs/demo/draft/{action}", data=looked_at)
        assert refused.status_code == 303
        page = client.get("/console/programs/demo/texts").get_data(as_text=True)
        assert (
            "The draft was changed after this page was opened" in page
            or "Черновик изменился" in page
        )
    assert version_of(session, card) == version  # nothing published
    assert 'value="Rank"' in client.get("/console/programs/demo/texts").get_data(as_text=True)
    client.post("/console/programs/demo/draft/publish", data=draft_form(client))
    assert version_of(session, card) == version + 1
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert "Rank" in pkpass.strings("en").values()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_texts_that_format_a_placeholder_are_refused_with_a_message(
    client: FlaskClient, session: Session, services: Services, demo: Program, lang: str
) -> None:
    """`{discount:d}` once passed and then broke every pass of the program;
    `{discount:>999999999}` built a gigabyte string. Both are refused at save."""
    card = enrolled(session, services, demo, "+79161238891")
    console_login(client, session, services, "marketer")
    version = version_of(session, card)
    client.get(f"/console/programs/demo/texts?lang={lang}")
    bad = {
        "back.how_it_works.en": "Save {discount:d} always",
        "back.how_it_works.ru": "Скидка {discount:>999999999}",
        "back.terms.en": "Terms: {terms_url!r}",
        "back.terms.ru": "Условия: {terms_url.__class__}",
    }
    refused = client.post("/console/programs/demo/texts", data={"csrf_token": csrf(client), **bad})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="field-error" data-field="([^"]+)">([^<]+)</p>', html))
    assert set(errors) == set(bad)
    if lang == "en":
        assert "{discount:d} has a format after the colon" in errors["back.how_it_works.en"]
        assert "e.g. {discount}" in errors["back.how_it_works.en"]
        assert "conversion" in errors["back.terms.en"]
        assert "reads a part of a value" in errors["back.terms.ru"]
    else:
        assert "В {discount:&gt;999999999} есть формат" in errors["back.how_it_works.ru"]
        assert "например {discount}" in errors["back.how_it_works.ru"]
        assert "преобразование" in errors["back.terms.en"]
    session.expire_all()
    assert session.get(Program, demo.id).card_texts_draft is None  # type: ignore[union-attr]
    assert version_of(session, card) == version
    assert fields_of(session, services, card)["how_it_works"]["value"]  # still renders
