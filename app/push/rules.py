"""What the pipeline does with each kind of answer, and how it splits work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

FINAL = frozenset({"accepted", "unregistered", "bad_token", "rejected"})


class SendResult(Protocol):
    """One answer from a push service (read-only view)."""

    @property
    def token(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def timestamp_ms(self) -> int | None: ...


class PushSender(Protocol):
    """Sends one content-free update notification per token."""

    def send(self, tokens: Sequence[str]) -> Sequence[SendResult]: ...


@dataclass(frozen=True)
class Decision:
    prune: bool  # remove the registration
    done: bool  # this device needs nothing more for this version of the pass


def decide(result: SendResult, registered_at: datetime) -> Decision:
    """APNs answers -> what happens to the registration (see shared/reference/apns.md).

    410: the token is dead, unless the device registered again after Apple's
    timestamp (then that newer registration stays). 400 BadDeviceToken: drop it.
    Other 400s are our bug: done, not retried. Failures and configuration errors
    are not done: the sweeper sends again later.
    """
    if result.outcome == "unregistered":
        if result.timestamp_ms is not None:
            dead_since = datetime.fromtimestamp(result.timestamp_ms / 1000, UTC)
            return Decision(prune=registered_at <= dead_since, done=True)
        return Decision(prune=True, done=True)
    if result.outcome == "bad_token":
        return Decision(prune=True, done=True)
    return Decision(prune=False, done=result.outcome in FINAL)
