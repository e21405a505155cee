"""The base of every domain error; app/web/errors.py turns them into responses."""

from __future__ import annotations


class DomainError(Exception):
    """``code`` is machine-readable and stable; ``status`` the HTTP status it maps to."""

    code = "error"
    status = 400
