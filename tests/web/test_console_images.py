"""A program's own card images: uploaded in the console, resized, kept in the draft with
a preview, and used in every pass (and on the Google class) once published."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program, ProgramImage, ProgramImageDraft
from app.services import cards, google_wallet
from app.staff.models import AuditEntry
from tests.helpers import Pkpass, console_login
from tests.web.test_console_texts import draft_form, enrolled, preview, version_of


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/programs/demo/images").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def upload(client: FlaskClient, kind: str, data: bytes, name: str = "x.png") -> int:
    return client.post(
        "/console/programs/demo/images",
        content_type="multipart/form-data",
        data={"csrf_token": csrf(client), "kind": kind, "image": (io.BytesIO(data), name)},
    ).status_code


def publish(client: FlaskClient) -> None:
    done = client.post("/console/programs/demo/draft/publish", data=draft_form(client, "images"))
    assert done.status_code == 303 and done.location.endswith("/console/programs/demo/images")


def test_an_uploaded_logo_waits_in_the_draft_then_goes_into_every_pass(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enrolled(session, services, demo, "+79161237777")
    before = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    google_logo = google_wallet.program_look(demo, services.templates, "https://w.test").logo_url
    console_login(client, session, services, "admin")
    assert upload(client, "logo", b"not a picture") == 422
    assert 'id="image-error"' in client.post(
        "/console/programs/demo/images",
        content_type="multipart/form-data",
        data={"csrf_token": csrf(client), "kind": "logo", "image": (io.BytesIO(b"x"), "x.gif")},
    ).get_data(as_text=True)
    assert upload(client, "banner", picture(10, 10)) == 422
    version = version_of(session, card)
    published_look = preview(client, "google")

    assert upload(client, "logo", picture(600, 200, "JPEG"), "logo.jpg") == 303
    sizes = {
        i.name: Image.open(io.BytesIO(i.png)).size  # type: ignore[arg-type]
        for i in session.scalars(select(ProgramImageDraft))
    }
    assert sizes == {"logo.png": (150, 50), "logo@2x.png": (300, 100), "logo@3x.png": (450, 150)}
    # Not sent: phones and Google keep the published logo until the draft is published.
    assert version_of(session, card) == version
    assert session.scalars(select(ProgramImage)).all() == []
    served = client.get("/programs/demo/images/logo@3x.png")
    assert Image.open(io.BytesIO(served.data)).size != (450, 150)
    drafted = client.get("/console/programs/demo/draft/images/logo@3x.png")
    assert Image.open(io.BytesIO(drafted.data)).size == (450, 150)
    page = client.get("/console/programs/demo/images").get_data(as_text=True)
    assert re.findall(r'<li data-pending="image">([^<]+)</li>', page) == ["Логотип: новая картинка"]
    assert preview(client, "google") != published_look

    publish(client)
    assert version_of(session, card) == version + 1
    after = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert after.files["logo@2x.png"] != before.files["logo@2x.png"]
    assert Image.open(io.BytesIO(after.files["logo@2x.png"])).size == (300, 100)
    assert after.files["icon.png"] == before.files["icon.png"]  # the rest stays the template's
    served = client.get("/programs/demo/images/logo@3x.png")  # what Google fetches
    assert Image.open(io.BytesIO(served.data)).size == (450, 150)
    program = session.get(Program, demo.id)
    assert program is not None
    new_logo = google_wallet.program_look(program, services.templates, "https://w.test").logo_url
    assert new_logo != google_logo and new_logo.startswith(google_logo + "?v=")
    assert session.scalars(select(ProgramImageDraft)).all() == []

    # "Back to the template's" is a draft too; published, the template's logo returns.
    reset = client.post(
        "/console/programs/demo/images/logo/reset", data={"csrf_token": csrf(client)}
    )
    assert reset.status_code == 303
    assert len(session.scalars(select(ProgramImage)).all()) == 3
    page = client.get("/console/programs/demo/images").get_data(as_text=True)
    pending = re.findall(r'<li data-pending="image">([^<]+)</li>', page)
    assert pending == ["Логотип: картинка шаблона"]
    again = client.post(  # a second reset changes nothing and says so
        "/console/programs/demo/images/icon/reset", data={"csrf_token": csrf(client)}
    )
    assert again.status_code == 303 and "#draft" not in again.location
    publish(client)
    assert session.scalars(select(ProgramImage)).all() == []
    assert version_of(session, card) == version + 2
    back = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert back.files["logo@2x.png"] == before.files["logo@2x.png"]
    actions = session.scalars(select(AuditEntry.action)).all()
    assert {"design.image_drafted", "design.image_reset_drafted", "design.published"} <= set(
        actions
    )


def test_texts_and_images_publish_together_in_one_update(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enrolled(session, services, demo, "+79161237778")
    console_login(client, session, services, "marketer")
    version = version_of(session, card)
    assert upload(client, "strip", picture(900, 300)) == 303
    client.post(
        "/console/programs/demo/texts",
        data={"csrf_token": csrf(client), "label.balance.en": "Bonus"},
    )
    page = client.get("/console/programs/demo/images").get_data(as_text=True)
    assert len(re.findall(r"data-pending=", page)) == 2
    publish(client)
    assert version_of(session, card) == version + 1
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert Image.open(io.BytesIO(pkpass.files["strip@2x.png"])).size == (750, 246)
    assert pkpass.strings("en")["Баллы"] == "Bonus"
