"""The base of every domain error; app/web/errors.py turns them into responses."""

from __future__ import annotations


class DomainError(Exception):
    """``code`` is machine-readable and stable (clients match on it); the message says
    what went wrong. Which HTTP status answers it is the web layer's business."""

    code = "error"
