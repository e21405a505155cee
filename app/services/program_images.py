"""A program's own card images: uploaded once, resized to what each wallet needs, kept
in the program's draft until published (app.services.card_drafts)."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, ProgramImageDraft
from app.posters.pixels import ImageTooLargeError, open_image
from app.services.programs import lock_program
from app.services.staff import audit
from app.staff.models import StaffUser

# Apple's sizes in points (x1, x2, x3); "fit" keeps the whole image, "cover" fills and crops.
KINDS = {"logo": ((160, 50), "fit"), "strip": ((375, 123), "cover"), "icon": ((29, 29), "cover")}
MAX_PIXELS = 25_000_000
SUFFIXES = {1: "", 2: "@2x", 3: "@3x"}


def _variants(kind: str, data: bytes) -> dict[str, bytes]:
    (width, height), mode = KINDS[kind]
    try:
        with open_image(data) as source:
            if source.format not in ("PNG", "JPEG", "WEBP"):
                raise ValidationError({"image": "must be a PNG, JPEG or WEBP picture"})
            if source.width * source.height > MAX_PIXELS:
                raise ValidationError({"image": "is too large (at most 25 megapixels)"})
            picture = ImageOps.exif_transpose(source).convert("RGBA")
    except ImageTooLargeError:
        raise ValidationError({"image": "is too large (at most 25 megapixels)"}) from None
    except (UnidentifiedImageError, OSError):
        raise ValidationError({"image": "is not a picture this service can read"}) from None
    out = {}
    for scale, suffix in SUFFIXES.items():
        size = (width * scale, height * scale)
        if mode == "cover":
            resized = ImageOps.fit(picture, size, Image.Resampling.LANCZOS)
        else:
            resized = ImageOps.contain(picture, size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, format="PNG", optimize=True)
        out[f"{kind}{suffix}.png"] = buffer.getvalue()
    return out


def _kind_of(name: str) -> str:
    return name.split("@")[0].removesuffix(".png")


def draft_images(program: Program) -> dict[str, bytes]:
    """The program's own images as its next publication would have them."""
    images = {image.name: image.png for image in program.images}
    for draft in program.image_drafts:
        if draft.png is None:
            images.pop(draft.name, None)
        else:
            images[draft.name] = draft.png
    return images


def pending_kinds(program: Program) -> dict[str, str]:
    """Kinds with a change waiting: ``new`` (an uploaded picture) or ``template``."""
    return {_kind_of(d.name): "template" if d.png is None else "new" for d in program.image_drafts}


def _clear(session: Session, program: Program, kind: str) -> None:
    session.execute(
        delete(ProgramImageDraft).where(
            ProgramImageDraft.program_id == program.id,
            ProgramImageDraft.name.in_([f"{kind}{suffix}.png" for suffix in SUFFIXES.values()]),
        )
    )


def stage(
    session: Session, clock: Clock, program: Program, kind: str, data: bytes, actor: StaffUser | str
) -> list[str]:
    """Keep the image at @1x/@2x/@3x in the program's draft; phones get it on publishing."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"must be one of {', '.join(KINDS)}"})
    variants = _variants(kind, data)
    program = lock_program(session, program)
    _clear(session, program, kind)
    now = clock.now()
    session.add_all(
        ProgramImageDraft(program_id=program.id, name=name, png=png, updated_at=now)
        for name, png in variants.items()
    )
    session.flush()
    session.expire(program, ["image_drafts"])
    audit(session, clock, actor, "design.image_drafted", program.slug, {"kind": kind})
    return sorted(variants)


def stage_reset(
    session: Session, clock: Clock, program: Program, kind: str, actor: StaffUser | str
) -> bool:
    """Draft "back to the template's image" for ``kind``; an unpublished upload of that
    kind is simply dropped. Returns whether the draft changed."""
    if kind not in KINDS:
        return False
    program = lock_program(session, program)
    had_draft = any(_kind_of(d.name) == kind for d in program.image_drafts)
    published = [image.name for image in program.images if _kind_of(image.name) == kind]
    if not had_draft and not published:
        return False
    _clear(session, program, kind)
    now = clock.now()
    session.add_all(
        ProgramImageDraft(program_id=program.id, name=name, png=None, updated_at=now)
        for name in published
    )
    session.flush()
    session.expire(program, ["image_drafts"])
    audit(session, clock, actor, "design.image_reset_drafted", program.slug, {"kind": kind})
    return True
