"""Use cases behind Apple's PassKit web service (registrations, changes, logs)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.bounds import strip_control_characters
from app.clock import Clock
from app.loyalty import ledger
from app.passes.apple import device_logs, tags
from app.passes.apple.builder import PkpassBuilder
from app.passes.errors import TooManyDevicesError
from app.passes.models import AppleDevice, AppleDeviceLog, AppleRegistration, WalletPass
from app.passes.templates import TemplateStore
from app.services import cards, wallet_counts, wallet_events
from app.services.installs import record_install

MAX_LOG_ROWS = 20_000
MAX_DEVICES_PER_PASS = 10  # the default of WALLETPASS_MAX_DEVICES_PER_PASS
# Built once: constructing the statement costs more than running it.
_AUTH_LOOKUP = select(
    WalletPass.id, WalletPass.card_id, WalletPass.auth_token, WalletPass.last_modified
).where(WalletPass.serial_number == bindparam("serial"))


@dataclass(frozen=True)
class PassRef:
    id: int
    card_id: int
    serial_number: str
    last_modified: int


def authenticate(
    conn: Connection | Session, serial_number: str, token: str | None
) -> PassRef | None:
    """The pass if ``token`` is its authentication token, else None.

    Unknown serials and wrong tokens look the same to the caller (no oracle), and
    the comparison takes the same time whatever the token. Takes a plain
    Connection too: the If-Modified-Since check is the hottest path of the
    service and the ORM session would triple its cost.
    """
    row = conn.execute(_AUTH_LOOKUP, {"serial": serial_number}).first()
    expected = row.auth_token if row is not None else "-" * 32
    if not hmac.compare_digest(expected.encode(), (token or "").encode()) or row is None:
        return None
    return PassRef(row.id, row.card_id, serial_number, row.last_modified)


@dataclass(frozen=True)
class Registrant:
    """Who is registering: the device, how to wake it, and through which wallet app."""

    library_id: str
    push_token: str
    wallet_app: str = "apple_wallet"
    push_service_url: str | None = None


def _device(session: Session, clock: Clock, who: Registrant) -> tuple[AppleDevice, str]:
    """The device, created or updated, and the wallet app it was in before."""
    library_id = who.library_id
    device = session.scalar(select(AppleDevice).where(AppleDevice.library_id == library_id))
    now = clock.now()
    if device is None:
        device = AppleDevice(
            library_id=library_id,
            push_token=who.push_token,
            wallet_app=who.wallet_app,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(device)
        except IntegrityError:  # registered concurrently by a parallel request
            device = session.scalars(
                select(AppleDevice).where(AppleDevice.library_id == library_id)
            ).one()
    # Every registration call counts as a sign of life: a 410 from APNs older than
    # this must not prune the device (see push.rules.decide).
    before = device.wallet_app
    device.push_token = who.push_token
    device.wallet_app = who.wallet_app
    device.push_service_url = who.push_service_url
    device.updated_at = now
    return device, before


def _moved(
    session: Session, device_id: int, before: str, after: str, new: int | None = None
) -> None:
    """The device's passes (but a ``new`` registration) left app ``before`` for app
    ``after``: no event (the cards stayed on the phone), the counts follow."""
    if before == after:
        return
    passes = session.scalars(
        select(AppleRegistration.pass_id).where(
            AppleRegistration.device_id == device_id, AppleRegistration.pass_id != (new or 0)
        )
    ).all()
    wallet_counts.place(
        session, [(p, before, -1) for p in passes] + [(p, after, 1) for p in passes]
    )


def register(
    session: Session,
    clock: Clock,
    ref: PassRef,
    who: Registrant,
    *,
    max_devices: int = MAX_DEVICES_PER_PASS,
) -> bool:
    """Register a device for a pass; True when the registration is new.

    The first registration of the card on any device, in any wallet app, is the
    install: it records it (and the install bonus, per the program's rule) and marks
    the pass changed. A pass holds at most ``max_devices`` registrations: one more
    raises TooManyDevicesError before anything is written, so a script cannot make one
    purchase fan out to thousands of pushes.
    """
    registered = session.scalar(
        select(AppleRegistration.id)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleDevice.library_id == who.library_id, AppleRegistration.pass_id == ref.id)
    )
    if registered is None:
        # The card's row lock (taken in this order by the till and the install bonus
        # too) makes concurrent registrations of one pass count one at a time.
        ledger.lock_card(session, ref.card_id)
        count = session.scalar(select(func.count()).where(AppleRegistration.pass_id == ref.id))
        if (count or 0) >= max_devices:
            raise TooManyDevicesError(max_devices)
    device, before = _device(session, clock, who)
    if registered is not None:
        _moved(session, device.id, before, device.wallet_app)
        return False
    try:
        with session.begin_nested():
            session.add(
                AppleRegistration(device_id=device.id, pass_id=ref.id, created_at=clock.now())
            )
    except IntegrityError:
        _moved(session, device.id, before, device.wallet_app)
        return False
    wallet_events.record(session, clock, device.wallet_app, wallet_events.INSTALL, ref.id)
    # Counted after the event (one lock order for every writer, see wallet_counts); the
    # new registration is already in the app, so it is left out of the move.
    _moved(session, device.id, before, device.wallet_app, ref.id)
    wallet_counts.place(session, [(ref.id, device.wallet_app, 1)])
    record_install(session, clock, ref.card_id, "apple")
    return True


def unregister(session: Session, clock: Clock, ref: PassRef, library_id: str) -> None:
    """The device no longer wants updates of the pass: the card left that wallet app."""
    device = session.execute(
        select(AppleDevice.id, AppleDevice.wallet_app).where(AppleDevice.library_id == library_id)
    ).first()
    if device is None:
        return
    device_id = device.id
    deleted = session.execute(
        delete(AppleRegistration).where(
            AppleRegistration.device_id == device_id, AppleRegistration.pass_id == ref.id
        )
    )
    if deleted.rowcount:  # type: ignore[attr-defined]
        wallet_events.record(session, clock, device.wallet_app, wallet_events.REMOVAL, ref.id)
        wallet_counts.place(session, [(ref.id, device.wallet_app, -1)])
    remaining = session.scalar(select(func.count()).where(AppleRegistration.device_id == device_id))
    if not remaining:
        session.execute(delete(AppleDevice).where(AppleDevice.id == device_id))


def changed_serials(
    session: Session, clock: Clock, library_id: str, tag_text: str | None
) -> tuple[list[str], str] | None:
    """Serials of the device's passes changed since the tag, and the new tag."""
    tag = tags.parse(tag_text)
    stmt = (
        select(
            WalletPass.id, WalletPass.serial_number, WalletPass.version, WalletPass.last_modified
        )
        .join(AppleRegistration, AppleRegistration.pass_id == WalletPass.id)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleDevice.library_id == library_id)
    )
    if tag is not None:
        stmt = stmt.where(WalletPass.last_modified > tag.watermark)
    passes = [tags.PassState(*row) for row in session.execute(stmt)]
    result = tags.changes_since(tag, passes, int(clock.now().timestamp()))
    if result is None:
        return None
    serials, new_tag = result
    return serials, new_tag.encode()


def store_logs(session: Session, clock: Clock, messages: list[str]) -> int:
    """Keep Wallet's log lines (bounded), each with the reason read from it."""
    now = clock.now()
    for message in messages:
        # Stripped: the CLI prints these lines, and a phone (or anyone) wrote them.
        text = strip_control_characters(message[: device_logs.MAX_MESSAGE])
        reading = device_logs.read(text)
        session.add(
            AppleDeviceLog(
                received_at=now,
                reason=reading.reason,
                serial_number=reading.serial_number,
                message=text,
            )
        )
    session.flush()
    newest = session.scalar(select(func.max(AppleDeviceLog.id))) or 0
    session.execute(delete(AppleDeviceLog).where(AppleDeviceLog.id <= newest - MAX_LOG_ROWS))
    return len(messages)


def recent_logs(
    session: Session, limit: int = 50, reason: str | None = None
) -> list[AppleDeviceLog]:
    stmt = select(AppleDeviceLog).order_by(AppleDeviceLog.id.desc()).limit(limit)
    if reason is not None:
        stmt = stmt.where(AppleDeviceLog.reason == reason)
    return list(session.scalars(stmt))


class UnrenderablePassError(Exception):
    """The pass itself cannot be produced (its template, an image, a value), not the
    service: the phone keeps the pass it has while the worker retries. ``cause`` is the
    render's own error."""

    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        super().__init__(str(cause))


def signed_pass(
    session: Session, pass_id: int, builder: PkpassBuilder, templates: TemplateStore
) -> bytes:
    """The signed pass for a device's fetch; UnrenderablePassError when the pass is
    broken. Database errors pass through as they are: they are the service's trouble."""
    try:
        return cards.apple_pass_by_id(session, pass_id, builder, templates)
    except SQLAlchemyError:
        raise
    except Exception as exc:
        raise UnrenderablePassError(exc) from exc
