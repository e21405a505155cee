"""How long the dashboard's seed KPIs (`seed_kpis`) take with the loyal buyers from the
loyal day rows (`app.analytics.loyal_days`) against the same-run baseline of the
per-card GROUP BY over the loyal windows' visit rows (what they did before, and still
do for a program whose rule changed since the rows were written), warm, rounds
interleaved; both must give the same figures.

Usage: .venv/bin/python bench/loyal_buyers.py --database-url postgresql+psycopg://...
       [--rounds 5]

The database holds a chain built by `bench/dashboard.py --build-only` (it is migrated
first). Printed per view (30 days and 52 weeks ending at the chain's last midnight):
median seconds of `seed_kpis` and of its loyal part alone, both ways, and the ratio.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from common import built_chain


def main() -> None:
    with built_chain(__doc__) as chain:
        from app.analytics import buyers, loyal_days, rollups
        from app.services.seed_kpis import seed_kpis

        session, program, rounds = chain.session, chain.program, chain.args.rounds
        assert loyal_days.current(session, program)
        for name, (first, end) in chain.views().items():
            start, stop = rollups.midnight(program, first), rollups.midnight(program, end)
            window = program.loyal_window_days
            refunds = buyers._refunds(program, start, stop)

            def rows() -> tuple[int, ...]:
                return (
                    *loyal_days.loyal_at(session, program, (first, end)),  # noqa: B023
                    loyal_days.loyal_revenue(session, program, first, end, refunds),  # noqa: B023
                )

            def visits() -> tuple[int, ...]:
                return buyers._loyal_from_visits(
                    session,
                    program,
                    refunds,  # noqa: B023
                    (first - window, first),  # noqa: B023
                    (end - window, end),  # noqa: B023
                )

            def whole(current: bool) -> Any:
                real = loyal_days.current
                loyal_days.current = lambda *_: current  # type: ignore[assignment]
                try:
                    return seed_kpis(session, program, start, stop)  # noqa: B023
                finally:
                    loyal_days.current = real  # type: ignore[assignment]

            assert rows() == visits(), (rows(), visits())
            assert whole(True) == whole(False)
            times: dict[str, list[float]] = {}
            for _ in range(rounds):
                for part, call in (
                    ("seed_kpis, loyal rows", lambda: whole(True)),
                    ("seed_kpis, visit rows (before)", lambda: whole(False)),
                    ("loyal part, loyal rows", rows),
                    ("loyal part, visit rows (before)", visits),
                ):
                    t0 = time.perf_counter()
                    call()
                    times.setdefault(part, []).append(time.perf_counter() - t0)
            loyal, revenue = rows()[1], rows()[2]
            print(f"{name}: {loyal} loyal buyers at the end, loyal revenue {revenue}")
            med = {part: statistics.median(t) for part, t in times.items()}
            for part, seconds in med.items():
                print(f"    {part:34} {seconds:6.3f} s")
            ratio = med["seed_kpis, visit rows (before)"] / med["seed_kpis, loyal rows"]
            print(f"    seed_kpis before / now: {ratio:.1f}x")


if __name__ == "__main__":
    main()
