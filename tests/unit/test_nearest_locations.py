"""A card shows the ten stores nearest the store of its latest purchase (Apple shows ten)."""

from __future__ import annotations

from app.passes.content import MAX_LOCATIONS, Location, nearest


def test_the_ten_nearest_stores_are_chosen_when_a_program_has_more() -> None:
    # Stores along a line of longitude, 1 degree apart: 0, 1, ..., 14.
    stores = tuple(Location(55.0, 30.0 + i, None) for i in range(15))
    near_far_end = nearest(stores, (55.0, 44.2))
    assert len(near_far_end) == MAX_LOCATIONS
    assert sorted(loc.longitude for loc in near_far_end) == [30.0 + i for i in range(5, 15)]
    assert nearest(stores, None) == stores[:MAX_LOCATIONS]  # no purchase yet: the first ten
    assert nearest(stores[:3], (0.0, 0.0)) == stores[:3]
