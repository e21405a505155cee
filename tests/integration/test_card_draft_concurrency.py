"""Two marketers on one program's draft at once (PostgreSQL, real connections): an
upload made while a publication runs is neither published unseen nor lost."""

from __future__ import annotations

import io
import threading
import time

from PIL import Image
from sqlalchemy import select

from app.bootstrap import Services
from app.loyalty.models import Program, ProgramImage, ProgramImageDraft
from app.services import card_drafts, program_images
from app.services.programs import seed_demo


def picture(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), color).save(out, format="PNG")
    return out.getvalue()


def test_an_upload_during_a_publication_waits_and_stays_in_the_draft(
    pg_services: Services,
) -> None:
    svc = pg_services
    with svc.transaction() as session:
        program_id = seed_demo(session, svc.clock).id
    with svc.transaction() as session:
        program = session.get(Program, program_id)
        assert program is not None
        program_images.stage(session, svc.clock, program, "logo", picture((200, 0, 0)), "ann")

    uploaded = threading.Event()

    def colleague_uploads_an_icon() -> None:
        with svc.transaction() as other:
            mine = other.get(Program, program_id)
            assert mine is not None
            program_images.stage(other, svc.clock, mine, "icon", picture((0, 0, 200)), "bob")
        uploaded.set()

    with svc.transaction() as session:
        program = session.get(Program, program_id)
        assert program is not None
        seen = card_drafts.fingerprint(program)
        published = card_drafts.publish(session, svc.clock, program, svc.templates, "ann", seen)
        assert published.images == {"logo": "new"}
        worker = threading.Thread(target=colleague_uploads_an_icon)
        worker.start()
        time.sleep(0.5)
        assert not uploaded.is_set()  # waits for the program row the publication holds
    worker.join(10)
    assert uploaded.is_set()

    with svc.transaction(write=False) as session:
        live = set(session.scalars(select(ProgramImage.name)))
        waiting = set(session.scalars(select(ProgramImageDraft.name)))
    assert live == {"logo.png", "logo@2x.png", "logo@3x.png"}  # only what Ann previewed
    assert waiting == {"icon.png", "icon@2x.png", "icon@3x.png"}  # Bob's icon still waits
