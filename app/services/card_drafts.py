"""The draft of a program's card texts and images: edited in the console, shown in
preview images, then published at once (one update to every phone) or discarded.
Nothing in a draft reaches a pass before ``publish``."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import Program, ProgramImage, ProgramImageDraft
from app.passes.sync import mark_program_changed
from app.passes.templates import PassTemplate, TemplateStore
from app.services import card_texts, google_class, program_images
from app.services.cards import customised
from app.services.google_class import ClassQueue
from app.services.programs import lock_program
from app.services.staff import audit
from app.staff.models import StaffUser


@dataclass(frozen=True)
class Pending:
    """What publishing the draft would change on the cards."""

    texts: list[str] = field(default_factory=list)  # form fields, e.g. "label.balance.ru"
    images: dict[str, str] = field(default_factory=dict)  # kind -> "new" | "template"

    def __bool__(self) -> bool:
        return bool(self.texts or self.images)


def pending(program: Program, templates: TemplateStore) -> Pending:
    template = templates.get(program.template)
    return Pending(
        card_texts.changed_fields(template, program), program_images.pending_kinds(program)
    )


class DraftChangedError(Exception):
    """The draft is no longer the one the marketer looked at (someone edited it since)."""


def fingerprint(program: Program) -> str:
    """Names the draft's content: the publish form carries it, so what gets published
    is what was previewed."""
    digest = hashlib.sha256(json.dumps(program.card_texts_draft, sort_keys=True).encode())
    for draft in program.image_drafts:
        picture = hashlib.sha256(draft.png).digest() if draft.png is not None else b"-"
        digest.update(draft.name.encode() + b"\0" + picture)
    return digest.hexdigest()[:20]


def _locked(session: Session, program: Program, seen: str | None) -> Program:
    program = lock_program(session, program)
    if seen is not None and not hmac.compare_digest(seen, fingerprint(program)):
        raise DraftChangedError()
    return program


def draft_template(program: Program, templates: TemplateStore) -> PassTemplate:
    """The program's template as the draft would make it (what the preview draws)."""
    return customised(
        templates.get(program.template),
        card_texts.draft_of(program),
        program_images.draft_images(program),
        f"d{program.id}",
    )


def _drop_draft(session: Session, program: Program) -> None:
    program.card_texts_draft = None
    session.execute(delete(ProgramImageDraft).where(ProgramImageDraft.program_id == program.id))
    session.expire(program, ["image_drafts"])


def publish(
    session: Session,
    clock: Clock,
    program: Program,
    templates: TemplateStore,
    actor: StaffUser | str,
    seen: str | None = None,
    google: ClassQueue | None = None,
) -> Pending:
    """Make the draft what every card shows: the passes of the program are marked changed
    once, and the phones fetch them after the commit. Returns what was published
    (empty when the draft changed nothing). With ``seen`` (the draft's fingerprint when
    it was previewed), raises ``DraftChangedError`` if it has changed since. With
    ``google``, Google gets the class again after commit (it carries the labels, logo
    and hero image)."""
    program = _locked(session, program, seen)
    changes = pending(program, templates)
    if program.card_texts_draft is not None:
        program.card_texts = card_texts.draft_of(program)
    for draft in program.image_drafts:
        session.execute(
            delete(ProgramImage).where(
                ProgramImage.program_id == program.id, ProgramImage.name == draft.name
            )
        )
        if draft.png is not None:
            session.add(
                ProgramImage(
                    program_id=program.id, name=draft.name, png=draft.png, updated_at=clock.now()
                )
            )
    _drop_draft(session, program)
    session.flush()
    session.expire(program, ["images"])
    if changes:
        mark_program_changed(session, clock, program.id)
        audit(
            session,
            clock,
            actor,
            "design.published",
            program.slug,
            {"texts": changes.texts, "images": changes.images},
        )
        google_class.resend_after_commit(session, google, program.id)
    return changes


def discard(
    session: Session,
    clock: Clock,
    program: Program,
    actor: StaffUser | str,
    seen: str | None = None,
) -> bool:
    """Forget the draft; the cards keep what they show. Returns whether there was one.
    ``seen`` as for ``publish``: a draft edited since is not thrown away unseen."""
    program = _locked(session, program, seen)
    had = program.card_texts_draft is not None or bool(program.image_drafts)
    if had:
        _drop_draft(session, program)
        session.flush()
        audit(session, clock, actor, "design.draft_discarded", program.slug, {})
    return had
