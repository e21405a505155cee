"""Reading the messages Wallet posts to /v1/log into a reason an operator understands."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE = 2000


@dataclass(frozen=True)
class LogReading:
    reason: str
    explanation: str
    serial_number: str | None


_SERIAL = re.compile(r"serial number '?([A-Za-z0-9_\-]{1,64})'?")
_STATUS = re.compile(r"Unexpected response code (\d{3})")

# (reason, pattern, what it means) — the first match wins.
_KNOWN: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "tag_unchanged",
        re.compile(r"included \d+ serial numbers? but the lastUpdated tag .* remained the same"),
        "the changed-passes list returned serials but the same lastUpdated tag",
    ),
    (
        "pass_unchanged",
        re.compile(r"requested update to serial number .* but the pass was unchanged"),
        "a pass was listed as changed but the downloaded pass was identical",
    ),
    (
        "missing_last_modified",
        re.compile(r"did not provide a 'last-modified' header", re.IGNORECASE),
        "the pass download answered without a Last-Modified header",
    ),
    (
        "certificate_mismatch",
        re.compile(r"passTypeIdentifier or teamIdentifier .* may not match|trust chain", re.I),
        "the signing certificate does not match the pass type id / team, or its chain is broken",
    ),
    (
        "invalid_pass",
        re.compile(r"Invalid data error reading pass|pass is not valid|could not be read", re.I),
        "the downloaded pass is not a valid bundle (signature, manifest or pass.json)",
    ),
    (
        "malformed_response",
        re.compile(r"response was malformed|Unable to parse|JSON", re.IGNORECASE),
        "a web service response body was not what Wallet expects",
    ),
    (
        "unregistered_serial",
        re.compile(r"unregistered serial number", re.IGNORECASE),
        "Wallet asked for a serial number the device is not registered for",
    ),
)

_STATUS_MEANING = {
    "401": "the web service refused the pass's authentication token",
    "404": "the web service answered 404 (wrong webServiceURL or unknown pass)",
}


def read(message: str) -> LogReading:
    """Classify one log line; unknown lines are kept as 'other'."""
    serial_match = _SERIAL.search(message)
    serial = serial_match.group(1) if serial_match else None
    for known, pattern, meaning in _KNOWN:
        if pattern.search(message):
            return LogReading(known, meaning, serial)
    status = _STATUS.search(message)
    reason = f"http_{status.group(1)}" if status else "other"
    return LogReading(reason, explanation(reason), serial)


def explanation(reason: str) -> str:
    """What a stored reason means, for operators."""
    for known, _, text in _KNOWN:
        if known == reason:
            return text
    if reason.startswith("http_"):
        code = reason[5:]
        if code in _STATUS_MEANING:
            return _STATUS_MEANING[code]
        return "the web service failed" if code.startswith("5") else f"the service answered {code}"
    return "unrecognised message"
