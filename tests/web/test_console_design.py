"""The card design page: form, server-drawn previews of unsaved values, validation,
saving (audited, every pass of the program bumped and delivered after commit), roles."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.passes.models import WalletPass
from app.services import design
from app.staff.models import AuditEntry
from tests.helpers import population
from tests.web.test_console_campaigns import csrf_of, log_in, text

PAGE = "/console/programs/demo/design"
CARDS = 12


@pytest.fixture
def marketer(client: FlaskClient, session: Session, services: Services, demo: Program) -> Program:
    population(session, services, demo, CARDS)
    session.commit()
    services.queue.huey.flush()
    log_in(client, session, services, "marketer")
    return demo


def form(program: Program, **overrides: str) -> dict[str, str]:
    return {**design.design_form(program), **overrides}


def post(client: FlaskClient, data: dict[str, str], csrf: bool = True) -> Any:
    if csrf:
        data = {**data, "csrf_token": csrf_of(client, PAGE)}
    return client.post(PAGE, data=data, headers={"Accept-Language": "en"})


def versions(session: Session) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(WalletPass.version).order_by(WalletPass.id)))


def delivery_ids(services: Services) -> set[int]:
    return {
        pass_id
        for task in services.queue.huey.pending()
        if task.name == "deliver_passes"
        for pass_id in task.args[0]
    }


def png(client: FlaskClient, wallet: str, values: dict[str, str]) -> Image.Image:
    response = client.get(f"/console/programs/demo/preview/{wallet}.png?{urlencode(values)}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return image.convert("RGB")


def test_the_form_shows_the_saved_design_and_preview_images(
    client: FlaskClient, marketer: Program
) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="design-form"' in page
    assert 'name="background_color" id="background_color" value="#1f3a5f"' in page
    assert "Добро пожаловать! Скидка 7 % уже действует." in page
    assert 'src="/console/programs/demo/preview/apple.png?background_color=%231F3A5F' in page
    assert 'src="/console/programs/demo/preview/google.png?' in page
    assert "/static/design.js" in page
    home = client.get("/console/").get_data(as_text=True)
    assert 'href="/console/programs/demo/design"' in home


def test_previews_follow_unsaved_values_and_write_nothing(
    client: FlaskClient, session: Session, marketer: Program
) -> None:
    values = form(marketer)
    for wallet in ("apple", "google"):
        at = (24, 500)  # inside the card, left of every text and image
        before = png(client, wallet, values)
        assert before.width == 750
        assert before.getpixel(at) == (0x1F, 0x3A, 0x5F)
        after = png(client, wallet, {**values, "background_color": "#0B6E4F"})
        assert after.getpixel(at) == (0x0B, 0x6E, 0x4F)
    # Invalid values fall back to the saved ones: the preview still draws.
    assert png(client, "apple", {"background_color": "blue"}).getpixel((24, 500)) == (
        0x1F,
        0x3A,
        0x5F,
    )
    assert client.get("/console/programs/demo/preview/nokia.png").status_code == 404
    assert client.get("/console/programs/nope/preview/apple.png").status_code == 404
    session.expire_all()
    assert session.get(Program, marketer.id).background_color == "#1F3A5F"  # type: ignore[union-attr]
    assert versions(session) == [1] * CARDS


def test_preview_content_builds_a_sample_card_without_touching_the_session(
    session: Session, services: Services, demo: Program
) -> None:
    template = services.templates.get(demo.template)
    content = design.preview_content(
        session, demo, {"offer_en": "Two for one", "label_color": "#00FF00"}, "en", template
    )
    assert content.field("member").value == {"ru": "Anna Smith", "en": "Anna Smith"}
    assert content.field("balance").value == 2000
    assert content.field("offer").value["en"] == "Two for one"  # type: ignore[index]
    assert content.colors.label == "#00FF00"
    assert not session.new and not session.dirty
    assert demo.label_color == "#FFD166"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"background_color": "navy"}, "background_color", "Enter a colour like #1A2B3C."),
        ({"foreground_color": "#2A4A6F"}, "foreground_color", "Text and background are too"),
        ({"label_color": "#1F3A5E"}, "label_color", "Labels and background are too alike"),
        ({"terms_url": "javascript:alert(1)"}, "terms_url", "Enter a web address"),
        ({"offer_en": "x" * 201}, "offer_en", "At most 200 characters."),
        ({"support_phone": "call us"}, "support_phone", "Enter a phone number"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_saved(
    client: FlaskClient,
    session: Session,
    services: Services,
    marketer: Program,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = post(client, form(marketer, website_url="https://example.org", **overrides))
    assert response.status_code == 422
    page = text(response)
    assert f'data-error-for="{field}">{message}' in page
    assert 'value="https://example.org"' in page  # the input is kept
    session.expire_all()
    program = session.get(Program, marketer.id)
    assert program is not None and program.website_url == "https://example.com/little-steps"
    assert versions(session) == [1] * CARDS
    assert not session.scalars(
        select(AuditEntry).where(AuditEntry.action == "design.updated")
    ).all()
    assert not delivery_ids(services)


def test_saving_audits_bumps_every_pass_and_queues_delivery_after_commit(
    client: FlaskClient, session: Session, services: Services, marketer: Program
) -> None:
    response = post(
        client,
        form(marketer, background_color="#0b6e4f", offer_en="Two coffees for one"),
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PAGE)
    assert "cards on phones will update" in text(client.get(PAGE))
    session.expire_all()
    program = session.get(Program, marketer.id)
    assert program is not None
    assert (program.background_color, program.offer_en) == ("#0B6E4F", "Two coffees for one")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "design.updated")).one()
    assert entry.target == "program:demo" and entry.actor == "marketer@example.com"
    assert entry.details is not None
    assert set(entry.details["changed"]) == {"background_color", "offer_en"}
    assert versions(session) == [2] * CARDS
    pass_ids = set(session.scalars(select(WalletPass.id)))
    assert delivery_ids(services) == pass_ids

    # Saving the same values again changes nothing and pushes nothing.
    services.queue.huey.flush()
    again = post(client, form(program))
    assert again.status_code == 303
    assert versions(session) == [2] * CARDS
    assert not delivery_ids(services)


def test_the_preview_button_works_without_javascript(
    client: FlaskClient, marketer: Program
) -> None:
    query = urlencode({**form(marketer, background_color="#0b6e4f"), "csrf_token": "x"})
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 303
    assert "csrf_token" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="#0b6e4f"' in page
    assert "preview/apple.png?background_color=%230b6e4f" in page


def test_a_store_manager_may_not_design_cards(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "store_manager")
    assert client.get(PAGE).status_code == 403
    assert client.get("/console/programs/demo/preview/apple.png").status_code == 403
    assert client.post(PAGE, data=form(demo)).status_code == 403


def test_a_post_without_csrf_token_is_refused(
    client: FlaskClient, session: Session, marketer: Program
) -> None:
    response = post(client, form(marketer, background_color="#0B6E4F"), csrf=False)
    assert response.status_code == 400
    session.expire_all()
    program = session.get(Program, marketer.id)
    assert program is not None and program.background_color == "#1F3A5F"
