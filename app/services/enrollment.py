"""Enrolling a shopper: validate the form, create member, card and wallet pass."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bounds import control_character_errors
from app.clock import Clock
from app.db import new_public_id
from app.loyalty import rules, totp
from app.loyalty.errors import AlreadyEnrolledError, ProgramClosedError, ValidationError
from app.loyalty.models import Card, Member, Program, StageTransition
from app.passes.models import WalletPass
from app.services import consents, webhook_events

_CARD_NUMBER_ATTEMPTS = 5
SOURCES = consents.SOURCES


@dataclass(frozen=True)
class EnrollmentForm:
    """What a shopper typed, before validation (every field as received)."""

    name: object = None
    phone: object = None
    birthday: object = None
    email: object = None
    locale: object = None
    consent: object = None
    marketing_consent: object = None


@dataclass(frozen=True)
class Enrollment:
    name: str
    phone: str
    birthday: date | None
    email: str | None
    locale: str
    consent: bool
    marketing_consent: bool = False


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return None
    return value


def validate(
    form: EnrollmentForm, program: Program, today: date, *, name_required: bool = True
) -> Enrollment:
    """Check every field and report all problems at once (at the till the name may be
    left out: the cashier asks only for the phone)."""
    errors: dict[str, str] = {}

    name = rules.clean_name(_text(form.name) or "") if isinstance(form.name, str) else None
    if name is None and not name_required and form.name in (None, ""):
        name = ""
    elif name is None:
        errors["name"] = f"is required (1 to {rules.NAME_MAX} characters)"

    phone = None
    if not isinstance(form.phone, str) or not form.phone.strip():
        errors["phone"] = "is required"
    else:
        phone = rules.normalise_phone(form.phone, program.phone_region)
        if phone is None:
            errors["phone"] = "is not a valid phone number"

    birthday = None
    raw_birthday = form.birthday
    if raw_birthday not in (None, ""):
        if not isinstance(raw_birthday, str):
            errors["birthday"] = "must be a date in the form YYYY-MM-DD"
        else:
            try:
                birthday = date.fromisoformat(raw_birthday.strip())
            except ValueError:
                errors["birthday"] = "must be a date in the form YYYY-MM-DD"
            else:
                problem = rules.birthday_problem(birthday, today)
                if problem:
                    errors["birthday"] = problem

    email = None
    if form.email not in (None, ""):
        email = rules.clean_email(form.email) if isinstance(form.email, str) else None
        if email is None:
            errors["email"] = "is not a valid e-mail address"

    locale = program.default_locale
    if form.locale not in (None, ""):
        if form.locale not in rules.LOCALES:
            errors["locale"] = f"must be one of {', '.join(rules.LOCALES)}"
        else:
            locale = str(form.locale)

    if form.consent is not True:
        errors["consent"] = "the program terms and personal data processing must be accepted"
    if form.marketing_consent not in (None, True, False):
        errors["marketing_consent"] = "must be true or false"
    fields = {"name": form.name, "phone": form.phone, "email": form.email}
    errors.update(control_character_errors(fields))

    if errors:
        raise ValidationError(errors)
    assert name is not None and phone is not None
    return Enrollment(name, phone, birthday, email, locale, True, form.marketing_consent is True)


def enroll(
    session: Session, clock: Clock, program: Program, data: Enrollment, source: str = "site"
) -> Card:
    """Create the member, the card (default tier) and its wallet pass. ``source`` says
    how the member came (site, api, till, import, console): it is recorded with both
    consents, with the version of the text shown (app.services.consents).

    Raises AlreadyEnrolledError if the phone already has a card here; the unique
    constraint on (program, phone) decides when two enrollments race; ProgramClosedError
    when the program is archived.
    """
    if program.archived_at is not None:
        raise ProgramClosedError()
    exists = session.scalar(
        select(Member.id).where(Member.program_id == program.id, Member.phone == data.phone)
    )
    if exists is not None:
        raise AlreadyEnrolledError()
    now = clock.now()
    member = Member(
        program_id=program.id,
        phone=data.phone,
        name=data.name,
        email=data.email,
        birthday=data.birthday,
        locale=data.locale,
        **consents.program_consent_fields(now, source),
        **consents.marketing_consent_fields(data.marketing_consent, now, source),
        created_at=now,
        # Every new member starts as a newcomer: counted on the dashboard at once, not
        # only after the hourly job (app.services.lifecycle) has run.
        stage="newcomer",
        stage_since=now,
    )
    try:
        with session.begin_nested():
            session.add(member)
    except IntegrityError:
        raise AlreadyEnrolledError() from None

    session.add(StageTransition(member_id=member.id, from_stage=None, to_stage="newcomer", at=now))
    for attempt in range(_CARD_NUMBER_ATTEMPTS):
        card = Card(
            public_id=new_public_id(),
            program_id=program.id,
            member_id=member.id,
            number=rules.new_card_number(),
            barcode_secret=rules.new_barcode_secret(),
            totp_secret=totp.new_secret_hex(),
            tier_id=program.default_tier.id,
            balance=0,
            status="active",
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(card)
            break
        except IntegrityError:
            # A random card number collided (1 in 10^11 per card); draw again.
            if attempt == _CARD_NUMBER_ATTEMPTS - 1:
                raise
    session.add(
        WalletPass(
            card_id=card.id,
            serial_number=new_public_id(),
            auth_token=secrets.token_urlsafe(24),
            version=1,
            updated_at=now,
            last_modified=int(now.timestamp()),
            created_at=now,
        )
    )
    session.flush()
    webhook_events.emit(
        session,
        clock,
        program,
        "member.enrolled",
        {
            **webhook_events.card_fields(card),
            "source": source,
            "locale": member.locale,
            "tier": program.default_tier.code,
            "marketing_consent": member.marketing_consent,
        },
    )
    return card


def normalised_phone(session: Session, slug: str, raw: str) -> str | None:
    """``raw`` in E.164 as program ``slug`` reads it; None for an unknown program or an
    invalid number (the rate limiter keys on it before the enrollment runs)."""
    region = session.scalar(select(Program.phone_region).where(Program.slug == slug))
    return None if region is None else rules.normalise_phone(raw, region)
