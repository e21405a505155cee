"""Logging set-up shared by every entry point: text or JSON lines, with the request id.

Nothing here knows Flask: the web layer sets ``request_id`` for the duration of a
request, and every record logged meanwhile (any logger) carries it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("walletpass_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields a record may carry through ``extra=`` that JSON lines keep (the access log's).
EXTRA_FIELDS = ("method", "route", "status", "duration_ms")
# Libraries whose debug output dumps wire data: HPACK logs every HTTP/2 header it
# encodes or decodes, APNs paths (device push tokens) and authorization included.
WIRE_LOGGERS = ("hpack",)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or None) on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (inside a
    request), the access log's fields, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid is not None:
            line["request_id"] = rid
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(*, verbose: bool = False, fmt: str = "text") -> None:
    """Root logging for a process (CLI, web server, worker); ``fmt`` is WALLETPASS_LOG_FORMAT."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    quiet_wire_loggers()


def quiet_wire_loggers() -> None:
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
