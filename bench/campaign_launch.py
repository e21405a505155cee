"""How long the console takes to launch a campaign to 100 000 cards (the request only;
the fan-out runs in the worker), and how long the worker's fan-out then takes.

Usage: .venv/bin/python bench/campaign_launch.py [--cards 100000]

A scratch SQLite database gets N registered cards in the "at risk" stage; a marketer
logs in to the console (Flask test client, in process) and submits the new-campaign
form for that segment with a 10 % holdout, "send now". Printed: the request time of
that POST (target: under 2 s), then the worker's target selection and offer
application (the set-based part of the fan-out, pushes not included), same process.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import bench_env
from sqlalchemy import select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(bench_env(Path(tmp), WALLETPASS_QUEUE_URL="memory://"))
        from app.bootstrap import build_services, upgrade_database
        from app.campaigns.models import Campaign
        from app.services import staff
        from app.services.programs import seed_demo
        from app.settings import Settings
        from app.simulate.population import registered_passes
        from app.web import create_app
        from app.worker import handlers

        settings = Settings.from_env()
        upgrade_database(settings.database_url)
        services = build_services(settings)
        started = time.perf_counter()
        with services.transaction() as session:
            program = seed_demo(session, services.clock)
            program.quiet_start_hour, program.quiet_end_hour = 0, 0  # no quiet hours here
            tokens = [f"{i:064x}" for i in range(args.cards)]
            registered_passes(session, program, tokens, datetime.now(UTC), stage="at_risk")
            staff.add_user(
                session,
                services.clock,
                email="m@example.com",
                name="M",
                role="marketer",
                password="a long enough passphrase",
                actor="bench",
            )
        print(f"{args.cards} registered cards created in {time.perf_counter() - started:.1f} s")

        client = create_app(services=services).test_client()
        page = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post(
            "/console/login",
            data={
                "csrf_token": token,
                "email": "m@example.com",
                "password": "a long enough passphrase",
            },
        )
        page = client.get("/console/campaigns/new?program=demo").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {
            "csrf_token": token,
            "program": "demo",
            "name": "Come back",
            "offer_en": "-20 % this week",
            "offer_ru": "-20 % на этой неделе",
            "stages": "at_risk",
            "holdout_percent": "10",
            "bonus_points": "0",
            "send": "now",
        }
        started = time.perf_counter()
        response = client.post("/console/campaigns", data=form)
        request_s = time.perf_counter() - started
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        with services.transaction(write=False) as session:
            campaign_id = session.scalars(select(Campaign.id)).one()
        started = time.perf_counter()
        applied = handlers.run_campaign(services, campaign_id)
        fan_out_s = time.perf_counter() - started
        queued = sum(1 for t in services.queue.huey.pending() if t.name == "deliver_passes")
        services.close()

    print(f"console POST launching the campaign: {request_s * 1000:.0f} ms (target < 2 000 ms)")
    print(
        f"worker: targets + offer on {applied} cards in {fan_out_s:.1f} s "
        f"({applied / fan_out_s:.0f} cards/s), {queued} delivery tasks enqueued"
    )


if __name__ == "__main__":
    main()
