"""The consent texts a shopper agrees to, and their versions.

The wording lives here and only here: the join form shows it (app.web.i18n reads it),
the API documentation points to it, and each member row records the version that was
shown. A version is ``<kind>-<first 12 hex of SHA-256 over the texts>``, so changing
a word in either language gives a new version without anyone having to remember to
bump it, and an old version can still be told apart from the new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

# How a consent reached us: the join page, the enrollment API, the till, a CSV import,
# the console; "unsubscribe" and "withdrawn" only ever withdraw the marketing consent.
SOURCES = ("site", "api", "till", "import", "console")


@dataclass(frozen=True)
class ConsentText:
    kind: str
    texts: dict[str, str]  # locale -> wording

    @property
    def version(self) -> str:
        canonical = json.dumps(self.texts, sort_keys=True, ensure_ascii=False).encode()
        return f"{self.kind}-{hashlib.sha256(canonical).hexdigest()[:12]}"


PROGRAM = ConsentText(
    "program",
    {
        "en": "I accept the program terms and the processing of my personal data",
        "ru": "Принимаю правила программы и согласен на обработку персональных данных",
    },
)
MARKETING = ConsentText(
    "marketing",
    {
        "en": "I agree to receive offers and news of the program by SMS and e-mail "
        "(optional; you can withdraw at any time)",
        "ru": "Согласен получать предложения и новости программы по SMS и e-mail "
        "(необязательно, можно отозвать в любой момент)",
    },
)
TEXTS = {c.version: c for c in (PROGRAM, MARKETING)}


def shown_text(source: str, consent: ConsentText) -> str | None:
    """The version recorded for a consent given through ``source``. An import carries
    consents collected elsewhere: no text of ours was shown, the version says so."""
    if source not in SOURCES:
        raise ValueError(f"unknown enrollment source {source!r}")
    return "import" if source == "import" else consent.version


def program_consent_fields(now: datetime, source: str) -> dict[str, object]:
    """The member columns recording the program consent (terms + personal data)."""
    return {
        "consent_at": now,
        "consent_source": source,
        "consent_text": shown_text(source, PROGRAM),
    }


def marketing_consent_fields(given: bool, now: datetime, source: str) -> dict[str, object]:
    """The member columns recording an advertising consent given (or not) ``now``."""
    text = shown_text(source, MARKETING)
    if not given:
        return {"marketing_consent": False}
    return {
        "marketing_consent": True,
        "marketing_consent_at": now,
        "marketing_consent_source": source,
        "marketing_consent_text": text,
    }
