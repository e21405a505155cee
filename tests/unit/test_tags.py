"""The lastUpdated tag never skips a change and never reports an unchanged pass,
even when transactions commit out of timestamp order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.passes.apple import tags
from app.passes.apple.tags import PassState, Tag


def test_tag_round_trips_and_garbage_means_no_tag() -> None:
    tag = Tag(1_763_800_000, frozenset({(12, 3), (7, 1)}))
    assert tags.parse(tag.encode()) == tag
    assert tags.parse("1763800000") == Tag(1_763_800_000)
    for bad in ("", None, "abc", "12:", "12:3", "12:3v", "-5", "1.5", "12:3v4;5v6"):
        assert tags.parse(bad) is None


def test_no_change_means_no_answer() -> None:
    first = tags.changes_since(None, [PassState(1, "s1", 1, 100)], now_s=1000)
    assert first is not None
    serials, tag = first
    assert serials == ["s1"]
    assert tags.changes_since(tag, [PassState(1, "s1", 1, 100)], now_s=1001) is None


# One simulated history: each change of a pass becomes visible (commits) some seconds
# after the timestamp it was given; the device polls at arbitrary times. Times are epoch
# seconds of today, as in production: a tag's watermark is never negative, so it is
# floored at 0, which only matters within two minutes of 1970.
EPOCH = 1_764_800_000
change = st.tuples(
    st.integers(0, 2),
    st.integers(EPOCH, EPOCH + 400),
    st.integers(0, tags.SETTLE_SECONDS - 1),
)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(change, max_size=12),
    polls=st.lists(st.integers(EPOCH, EPOCH + 700), max_size=15),
)
def test_every_committed_change_is_reported_exactly_once_per_version(
    changes: list[tuple[int, int, int]], polls: list[int]
) -> None:
    # Per pass, versions increase with the timestamp they were stamped with.
    history: dict[int, list[tuple[int, int]]] = {0: [], 1: [], 2: []}  # pass -> [(stamp, commit)]
    for pass_id, stamp, delay in sorted(changes, key=lambda c: c[1]):
        previous = history[pass_id][-1][0] if history[pass_id] else -1
        stamp = max(stamp, previous + 1)  # last_modified is strictly increasing per pass
        history[pass_id].append((stamp, stamp + delay))

    def visible(now: int) -> list[PassState]:
        states = []
        for pass_id, versions in history.items():
            committed = [s for s, c in versions if c <= now]
            if committed:
                states.append(PassState(pass_id, f"s{pass_id}", len(committed), committed[-1]))
        return states

    tag: Tag | None = None
    reported: dict[int, int] = {}  # pass -> version the device last fetched
    for now in [*sorted(polls), EPOCH + 10_000]:
        states = visible(now)
        above = [p for p in states if tag is None or p.last_modified > tag.watermark]
        result = tags.changes_since(tag, above, now)
        if result is None:
            continue
        serials, new_tag = result
        assert new_tag.encode() != (tag.encode() if tag else None)
        for serial in serials:
            state = next(p for p in states if p.serial_number == serial)
            assert reported.get(state.pass_id) != state.version, "an unchanged pass was listed"
            reported[state.pass_id] = state.version
        tag = new_tag
    # After everything committed, the device knows the newest version of every pass.
    final = {p.pass_id: p.version for p in visible(EPOCH + 10_000)}
    assert reported == final
