"""Webhooks: signed HTTP callbacks to a program's integrations (docs/webhooks.md)."""
