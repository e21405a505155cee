"""Loyalty domain core: programs, members, cards, tiers. No I/O here."""
