"""Push channels: one way each of waking the phones that hold a pass.

APNs wakes Apple Wallet; every Android .pkpass app runs a relay of its own that wakes
its phones through FCM or HMS (docs/passkit.md). They share one interface, so
the delivery pipeline groups owed devices by channel, batches within each channel's
limit and reads every answer the same way (``app.push.rules.decide``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.push.rules import PushSender, SendResult
from app.push.wallet_apps import APPLE_WALLET, UNKNOWN
from app.settings import Settings

APNS = "apns"
# Wallet app -> the channel that wakes it (the channel's name labels counters and alarms).
CHANNEL_OF_APP = {
    APPLE_WALLET: APNS,
    "walletpasses": "walletpasses",
    "passwallet": "passwallet",
    "pass2u": "pass2u",
    "passworks": "passworks",
    "walletunion": "walletunion",
    "walletunion_hms": "walletunion_hms",
    "passhub": "passhub",
    UNKNOWN: None,  # an app we cannot name: nothing to notify, the phone refreshes by hand
}
NO_CHANNEL = "no push channel for this wallet app"


def configured_off(settings: Settings) -> dict[str, str | None]:
    """Each channel's reason to be off according to the settings alone (for commands
    and sweeps that run without the worker's channels)."""
    relays = settings.relays
    return {
        APNS: None,
        "passwallet": None,  # the relay URL comes with each registration
        **{name: relays[name].off for name in ("walletpasses", "pass2u", "passworks", "passhub")},
        "walletunion": relays["walletunion"].off,
        "walletunion_hms": relays["walletunion"].off,
    }


class Channel(Protocol):
    """Sends content-free "this pass changed" notices for one wallet app family."""

    @property
    def name(self) -> str: ...

    @property
    def max_batch(self) -> int:
        """Most tokens one ``send`` may carry (the relay's documented limit)."""
        ...

    @property
    def off(self) -> str | None:
        """Why the channel cannot send (missing URL or key), or None when it can."""
        ...

    def send(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None = None
    ) -> Sequence[SendResult]:
        """One answer per token; ``url`` is the registration's relay (PassWallet only)."""
        ...


@dataclass
class ApnsChannel:
    """APNs as a channel: the sender pushes every token on its own HTTP/2 stream."""

    sender: PushSender
    name: str = APNS
    max_batch: int = 50_000
    off: str | None = None

    def send(
        self, pass_type_id: str, tokens: Sequence[str], url: str | None = None
    ) -> Sequence[SendResult]:
        # The topic is the sender's (one pass type id per deployment).
        return self.sender.send(tokens)


class Channels:
    """The channels of this worker, by name."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self._by_name = {c.name: c for c in channels}

    @classmethod
    def of(cls, push: PushSender | Channels) -> Channels:
        """Channels as given, or an APNs sender alone (relay devices then stay owed)."""
        return push if isinstance(push, Channels) else cls([ApnsChannel(push)])

    def get(self, name: str) -> Channel | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._by_name.values())

    def off_reason(self, name: str) -> str | None:
        """Why a channel cannot send in this worker; None when it can."""
        channel = self._by_name.get(name)
        if channel is None:
            return "not configured in this worker"
        return channel.off
