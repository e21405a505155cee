"""``/readyz``: whether this process can serve — the database answers, the queue answers
and the database schema is at the code's migration head.

200 ``{"database": "ok", "queue": "ok", "migrations": "ok"}``; otherwise 503 with the
reason of each failed check. Reasons name the error, never a URL's password.
"""

from __future__ import annotations

import functools
import re

from alembic.script import ScriptDirectory
from flask import Flask, Response, current_app, jsonify

from app.bootstrap import Services, alembic_config

_CREDENTIALS = re.compile(r"(\w+://[^/\s:@]*:)[^@\s/]*@")
_CHECKS = ("database", "queue", "migrations")


@functools.cache
def code_heads(database_url: str) -> tuple[str, ...]:
    """The migration head(s) this code expects; read once per process."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(database_url)).get_heads()))


def reason(exc: BaseException) -> str:
    """A one-line, credential-free description of a failed check."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    text_ = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    return _CREDENTIALS.sub(r"\1***@", text_)


def readiness(services: Services) -> dict[str, str]:
    """Each check -> "ok" or why it failed."""
    result = dict.fromkeys(_CHECKS, "not checked: the database did not answer")
    try:
        current = services.schema_heads()
        result["database"] = "ok"
    except Exception as exc:
        result["database"] = reason(exc)
    else:
        expected = code_heads(services.settings.database_url)
        result["migrations"] = (
            "ok"
            if current == expected
            else f"database at {', '.join(current) or 'no revision'}, "
            f"code at {', '.join(expected)} (run `walletpass db upgrade`)"
        )
    try:
        services.queue.pending()
        result["queue"] = "ok"
    except Exception as exc:
        result["queue"] = reason(exc)
    return result


def init_app(app: Flask) -> None:
    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        checks = readiness(current_app.extensions["walletpass"])
        ready = all(v == "ok" for v in checks.values())
        response = jsonify(checks)
        response.headers["Cache-Control"] = "no-store"
        return response, 200 if ready else 503
