"""APNs client settings, checked when built (shared by the client and its connections)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ApnsConfigError(ValueError):
    """The APNs settings, certificate or key cannot work."""


@dataclass(frozen=True, kw_only=True)
class ApnsConfig:
    topic: str
    base_url: str = "https://api.push.apple.com"
    auth: str = "cert"
    client_cert: Path | None = None
    client_key: Path | None = None
    ca_file: Path | None = None
    key_file: Path | None = None
    key_id: str | None = None
    team_id: str | None = None
    connections: int = 4
    request_timeout: float = 10.0
    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 10.0
    max_streams: int = 1000  # our own cap per connection, below the server's setting

    def __post_init__(self) -> None:
        url = urlsplit(self.base_url)
        if url.scheme != "https" or not url.hostname:
            raise ApnsConfigError(f"APNs URL must be https://host[:port], not {self.base_url!r}")
        if not re.fullmatch(r"[!-~]+", self.topic):  # it goes into a header unchecked
            raise ApnsConfigError(f"APNs topic must be a pass type id, not {self.topic!r}")
        if self.auth not in ("cert", "token"):
            raise ApnsConfigError(f"APNs auth must be 'cert' or 'token', not {self.auth!r}")
        if self.auth == "token" and not (self.key_file and self.key_id and self.team_id):
            raise ApnsConfigError("APNs token auth needs key_file, key_id and team_id")
        if min(self.connections, self.max_attempts, self.max_streams) < 1:
            raise ApnsConfigError("connections, max_attempts and max_streams must be >= 1")

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 443
