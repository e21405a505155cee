"""Installs and removals per wallet app: the history behind the dashboard and stats.

Every way a card arrives in or leaves a wallet app records one event here, in the
transaction that changes the registration (or the Google object):

- ``record(session, clock, wallet_app, kind, pass_id, at=None, reason=...)`` for one
  event; ``kind`` is ``install`` or ``removal``, ``wallet_app`` one of ``EVENT_APPS``.
- ``record_removals(session, clock, registration_ids, reason)`` for registrations a push
  channel is about to prune: call it *before* deleting the rows (it reads each
  registration's pass and its device's wallet app). Relay channels pass
  ``reason="relay_expired"`` or ``"relay_unknown"``; APNs 410 passes ``"apns_pruned"``.

Each also counts the event per program and local day (services.wallet_counts) and
emits the ``card.installed`` / ``card.removed`` webhook (services.webhook_events).
Neither commits; the entry point's commit makes the event and the change
it describes visible together.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.passes.models import AppleDevice, AppleRegistration
from app.push.models import WalletAppEvent
from app.push.wallet_apps import APPS
from app.services import wallet_counts, webhook_events

GOOGLE_WALLET = "google_wallet"
EVENT_APPS = (*APPS, GOOGLE_WALLET)
INSTALL, REMOVAL = "install", "removal"
KINDS = (INSTALL, REMOVAL)
REASONS = (
    "registered",
    "unregistered",
    "apns_pruned",
    "relay_expired",
    "relay_unknown",
    "google_save",
    "google_delete",
)


def _check(wallet_app: str, kind: str, reason: str) -> None:
    if wallet_app not in EVENT_APPS:
        raise ValueError(f"unknown wallet app {wallet_app!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r} (install or removal)")
    if reason not in REASONS:
        raise ValueError(f"unknown event reason {reason!r}")


def record(
    session: Session,
    clock: Clock,
    wallet_app: str,
    kind: str,
    pass_id: int | None,
    at: datetime | None = None,
    *,
    reason: str | None = None,
) -> None:
    """One install or removal of a pass in a wallet app (``at`` defaults to now).

    ``reason`` defaults to ``registered`` for installs and ``unregistered`` for removals.
    """
    reason = reason or ("registered" if kind == INSTALL else "unregistered")
    _check(wallet_app, kind, reason)
    at = at or clock.now()
    session.add(
        WalletAppEvent(at=at, wallet_app=wallet_app, kind=kind, reason=reason, pass_id=pass_id)
    )
    wallet_counts.count_events(session, [(pass_id, wallet_app, kind, at)])
    event = "card.installed" if kind == INSTALL else "card.removed"
    webhook_events.emit_for_passes(session, clock, event, [(pass_id, wallet_app, reason)])


def record_removals(
    session: Session, clock: Clock, registration_ids: Collection[int], reason: str
) -> int:
    """A removal per registration about to be deleted; returns how many were recorded."""
    _check(APPS[0], REMOVAL, reason)
    if not registration_ids:
        return 0
    rows = session.execute(
        select(AppleRegistration.pass_id, AppleDevice.wallet_app)
        .join(AppleDevice, AppleDevice.id == AppleRegistration.device_id)
        .where(AppleRegistration.id.in_(list(registration_ids)))
    ).all()
    if not rows:
        return 0
    now = clock.now()
    apps = [(pass_id, app if app in EVENT_APPS else "unknown") for pass_id, app in rows]
    wallet_counts.count_events(session, [(p, app, REMOVAL, now) for p, app in apps])
    session.execute(
        insert(WalletAppEvent),
        [
            {
                "at": now,
                "wallet_app": app,
                "kind": REMOVAL,
                "reason": reason,
                "pass_id": pass_id,
            }
            for pass_id, app in apps
        ],
    )
    webhook_events.emit_for_passes(
        session, clock, "card.removed", [(pass_id, app, reason) for pass_id, app in apps]
    )
    return len(rows)
