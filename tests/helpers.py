"""Helpers for tests: reading .pkpass bundles and .strings files like Wallet does."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
PASS_TYPE_ID = "pass.test.walletpass.loyalty"
TEAM_ID = "TESTTEAM42"

_STRINGS_LINE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)";$')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), text)


def parse_strings(data: bytes) -> dict[str, str]:
    """Strict parser of Apple's .strings format: every non-empty line must be a pair."""
    table: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _STRINGS_LINE.match(line)
        if match is None:
            raise ValueError(f'line {number} is not a \'"key" = "value";\' pair: {line!r}')
        table[_unescape(match.group(1))] = _unescape(match.group(2))
    return table


@dataclass
class Pkpass:
    files: dict[str, bytes]

    @classmethod
    def read(cls, data: bytes) -> Pkpass:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None, "a zip entry has a bad CRC"
            return cls({name: archive.read(name) for name in archive.namelist()})

    @property
    def pass_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.files["pass.json"])
        return data

    @property
    def manifest(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.files["manifest.json"])
        return data

    def strings(self, lang: str) -> dict[str, str]:
        return parse_strings(self.files[f"{lang}.lproj/pass.strings"])


def postgres_url() -> str | None:
    """The scaled-out test database, when this machine has one."""
    import os

    return os.environ.get("WALLETPASS_TEST_DATABASE_URL")
