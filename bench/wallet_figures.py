"""How long the dashboard's wallet figures take on a chain: ``wallet_stats.figures`` (the
wallet table: the period's installs and removals, active cards per app) and
``adoption`` (in seed_kpis: members with their card in a wallet, per app), warm, read
from the kept counts (services.wallet_counts), against the same-run baseline of the
same figures counted from the registrations, Google objects and events (what both did
before migration 0026). It checks that both give the same figures.

Usage: .venv/bin/python bench/wallet_figures.py --database-url postgresql+psycopg://...
       [--rounds 5]

The database holds a chain built by ``bench/dashboard.py --build-only`` (it is migrated
first). Printed: median seconds of each read for the default view (30 days) and the
year, the baseline's, their ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from common import built_chain


def median(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    found = call()  # warm: plans and pages
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        found = call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), found


def baseline_figures(session: Any, program_id: int, period: Any) -> list[Any]:
    from app.services import wallet_stats

    counts = wallet_stats.scan_event_counts(session, program_id, [period])
    return wallet_stats.app_rows(counts, wallet_stats.scan_active(session, program_id))


def baseline_adoption(session: Any, program_id: int) -> tuple[int, dict[str, int]]:
    from sqlalchemy import func, select

    from app.loyalty.models import Member
    from app.services import wallet_stats

    session.scalar(select(func.count(Member.id)).where(Member.program_id == program_id))
    installed = wallet_stats.scan_installed(session, program_id)
    return installed, wallet_stats.scan_active(session, program_id)


def main() -> None:
    with built_chain(__doc__) as chain:
        from app.analytics.rollups import midnight
        from app.services import wallet_stats

        session, program, rounds = chain.session, chain.program, chain.args.rounds
        views = {
            name: (midnight(program, first), midnight(program, end))
            for name, (first, end) in chain.views().items()
        }
        pid = program.id
        for name, period in views.items():
            kept, found = median(partial(wallet_stats.figures, session, pid, period), rounds)
            base, expected = median(partial(baseline_figures, session, pid, period), rounds)
            assert found == expected, (found, expected)
            print(
                f"{name}: wallet_stats.figures {kept:.4f} s, baseline {base:.3f} s "
                f"({base / kept:.0f}x)"
            )
        kept, adoption = median(lambda: wallet_stats.adoption(session, pid), rounds)
        base, (installed, active) = median(lambda: baseline_adoption(session, pid), rounds)
        assert adoption.installed == installed
        assert {app: n for app, (n, _) in adoption.by_app.items()} == {
            app: n for app, n in active.items() if n
        }
        print(
            f"adoption: {kept:.4f} s, baseline {base:.3f} s ({base / kept:.0f}x); "
            f"{installed} members in a wallet"
        )


if __name__ == "__main__":
    main()
