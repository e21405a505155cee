"""Enrolling a shopper at the till by phone number: the card works on the same receipt,
and the install link goes out by SMS (or e-mail) after the commit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty import rules
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.services import enrollment, invites

FIELDS = frozenset({"phone", "name", "consent", "send_invite"})


@dataclass(frozen=True)
class TillEnrollment:
    card: Card
    invite: str  # sent | off | not_requested

    def as_json(self) -> dict[str, object]:
        return {
            "card": {
                "number": self.card.number,
                "barcode": rules.barcode_value(self.card.number, self.card.barcode_secret),
            },
            "invite": self.invite,
        }


def enroll_at_till(
    session: Session,
    clock: Clock,
    queue: invites.InviteQueue,
    program: Program,
    body: dict[str, object],
    channels_on: Collection[str],
) -> TillEnrollment:
    """``body`` is the till's JSON: phone, name (optional), consent (must be true: the
    shopper accepted the program's terms), send_invite (optional; absent follows the
    program's option). Raises ValidationError, AlreadyEnrolledError (never naming the
    existing card)."""
    unknown = sorted(set(body) - FIELDS)
    errors = {name: "is not a field of this request" for name in unknown}
    raw_send = body.get("send_invite")
    send = raw_send if isinstance(raw_send, bool) else None
    if raw_send is not None and send is None:
        errors["send_invite"] = "must be true or false"
    try:
        data = enrollment.validate(
            enrollment.EnrollmentForm(
                name=body.get("name"),
                phone=body.get("phone"),
                locale=program.default_locale,
                consent=body.get("consent"),
            ),
            program,
            clock.now().date(),
            name_required=False,
        )
    except ValidationError as exc:
        raise ValidationError({**exc.fields, **errors}) from None
    if errors:
        raise ValidationError(errors)
    card = enrollment.enroll(session, clock, program, data, source="till")
    invite = invites.after_enrollment(
        session, clock, queue, card, "till", channels_on, requested=send
    )
    return TillEnrollment(card, invite)
