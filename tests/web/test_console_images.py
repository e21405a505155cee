"""A program's own card images: uploaded in the console, resized, used in every pass."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program, ProgramImage
from app.passes.models import WalletPass
from app.services import cards, enrollment
from app.staff.models import AuditEntry
from tests.helpers import Pkpass, console_login


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/programs/demo/images").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def test_an_uploaded_logo_is_resized_and_goes_into_every_pass(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    form = enrollment.EnrollmentForm(name="I", phone="+79161237777", consent=True)
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    before = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    console_login(client, session, services, "admin")
    bad = client.post(
        "/console/programs/demo/images",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf(client),
            "kind": "logo",
            "image": (io.BytesIO(b"not a picture"), "x.png"),
        },
    )
    assert bad.status_code == 422 and 'id="image-error"' in bad.get_data(as_text=True)
    version = session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id)) or 0
    done = client.post(
        "/console/programs/demo/images",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf(client),
            "kind": "logo",
            "image": (io.BytesIO(picture(600, 200, "JPEG")), "logo.jpg"),
        },
    )
    assert done.status_code == 303
    session.expire_all()
    sizes = {
        i.name: Image.open(io.BytesIO(i.png)).size for i in session.scalars(select(ProgramImage))
    }
    assert sizes == {"logo.png": (150, 50), "logo@2x.png": (300, 100), "logo@3x.png": (450, 150)}
    assert (
        session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
        == version + 1
    )
    program = session.get(Program, demo.id)
    assert program is not None
    after = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert after.files["logo@2x.png"] != before.files["logo@2x.png"]
    assert Image.open(io.BytesIO(after.files["logo@2x.png"])).size == (300, 100)
    assert after.files["icon.png"] == before.files["icon.png"]  # the rest stays the template's
    served = client.get("/programs/demo/images/logo@3x.png")  # what Google fetches
    assert Image.open(io.BytesIO(served.data)).size == (450, 150)
    reset = client.post(
        "/console/programs/demo/images/logo/reset", data={"csrf_token": csrf(client)}
    )
    assert reset.status_code == 303
    session.expire_all()
    assert session.scalars(select(ProgramImage)).all() == []
    back = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    assert back.files["logo@2x.png"] == before.files["logo@2x.png"]
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "design.image_uploaded" in actions and "design.image_removed" in actions
