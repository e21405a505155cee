"""The `lastUpdated` tag of Wallet's "what changed?" request.

A tag is ``"<watermark>"`` or ``"<watermark>:<id>v<version>,..."``: every change of
a pass with ``last_modified <= watermark`` was already reported, and the listed
(pass id, version) pairs above the watermark were too. The watermark trails the
current time by SETTLE_SECONDS, so a change whose transaction commits late (its
timestamp taken before another, faster transaction) is still above the watermark
when it becomes visible, and is reported then. A tag therefore never skips a
change, never reports an unchanged pass, and changes whenever serials are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SETTLE_SECONDS = 120
_TAG = re.compile(r"^(\d{1,12})(?::((?:\d{1,18}v\d{1,18})(?:,\d{1,18}v\d{1,18})*))?$")


@dataclass(frozen=True)
class Tag:
    watermark: int
    seen: frozenset[tuple[int, int]] = frozenset()

    def encode(self) -> str:
        if not self.seen:
            return str(self.watermark)
        pairs = ",".join(f"{i}v{v}" for i, v in sorted(self.seen))
        return f"{self.watermark}:{pairs}"


def parse(raw: str | None) -> Tag | None:
    """The tag a device sent back, or None (unparsable or absent: report everything)."""
    if not raw:
        return None
    match = _TAG.match(raw.strip())
    if match is None:
        return None
    seen = frozenset(
        (int(i), int(v)) for i, v in (p.split("v") for p in (match.group(2) or "").split(",") if p)
    )
    return Tag(int(match.group(1)), seen)


@dataclass(frozen=True)
class PassState:
    pass_id: int
    serial_number: str
    version: int
    last_modified: int


def changes_since(
    tag: Tag | None, passes: list[PassState], now_s: int
) -> tuple[list[str], Tag] | None:
    """Serials to report and the new tag, or None when nothing changed.

    ``passes`` are the device's registered passes with last_modified above the
    old watermark (all of them when there is no tag).
    """
    old_watermark = tag.watermark if tag else -1
    seen = tag.seen if tag else frozenset()
    changed = [
        p for p in passes if p.last_modified > old_watermark and (p.pass_id, p.version) not in seen
    ]
    if not changed:
        return None
    watermark = max(old_watermark, now_s - SETTLE_SECONDS, 0)
    new_seen = frozenset((p.pass_id, p.version) for p in passes if p.last_modified > watermark)
    return sorted(p.serial_number for p in changed), Tag(watermark, new_seen)
