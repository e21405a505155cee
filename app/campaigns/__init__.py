"""Segments, campaigns on the wallet channel, holdouts and their measured uplift."""
