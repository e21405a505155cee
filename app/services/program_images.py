"""A program's own card images: uploaded once, resized to what each wallet needs."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program, ProgramImage
from app.passes.sync import mark_program_changed
from app.services.staff import audit
from app.staff.models import StaffUser

# Apple's sizes in points (x1, x2, x3); "fit" keeps the whole image, "cover" fills and crops.
KINDS = {"logo": ((160, 50), "fit"), "strip": ((375, 123), "cover"), "icon": ((29, 29), "cover")}
MAX_PIXELS = 25_000_000
SUFFIXES = {1: "", 2: "@2x", 3: "@3x"}


def _variants(kind: str, data: bytes) -> dict[str, bytes]:
    (width, height), mode = KINDS[kind]
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.format not in ("PNG", "JPEG", "WEBP"):
                raise ValidationError({"image": "must be a PNG, JPEG or WEBP picture"})
            if source.width * source.height > MAX_PIXELS:
                raise ValidationError({"image": "is too large (at most 25 megapixels)"})
            picture = ImageOps.exif_transpose(source).convert("RGBA")
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


def upload(
    session: Session, clock: Clock, program: Program, kind: str, data: bytes, actor: StaffUser | str
) -> list[str]:
    """Store the image at @1x/@2x/@3x; every card of the program is re-sent."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"must be one of {', '.join(KINDS)}"})
    variants = _variants(kind, data)
    now = clock.now()
    existing = {
        image.name: image
        for image in session.scalars(
            select(ProgramImage).where(ProgramImage.program_id == program.id)
        )
    }
    for name, png in variants.items():
        row = existing.get(name)
        if row is None:
            session.add(ProgramImage(program_id=program.id, name=name, png=png, updated_at=now))
        else:
            row.png, row.updated_at = png, now
    session.flush()
    session.expire(program, ["images"])
    mark_program_changed(session, clock, program.id)
    audit(session, clock, actor, "design.image_uploaded", program.slug, {"kind": kind})
    return sorted(variants)


def remove(
    session: Session, clock: Clock, program: Program, kind: str, actor: StaffUser | str
) -> bool:
    """Back to the template's image of this kind."""
    result = session.execute(
        delete(ProgramImage).where(
            ProgramImage.program_id == program.id, ProgramImage.name.startswith(f"{kind}")
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.expire(program, ["images"])
    mark_program_changed(session, clock, program.id)
    audit(session, clock, actor, "design.image_removed", program.slug, {"kind": kind})
    return True
