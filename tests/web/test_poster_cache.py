"""Issue 17, finding 9: the poster costs its CPU once per look, not once per request,
and one address cannot keep the server drawing posters."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.loyalty.models import Program
from app.services import posters


def test_a_poster_is_drawn_once_per_program_size_language_format_and_design(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    posters.clear_cache()
    first = client.get("/join/demo/poster.png?size=a5&lang=en")
    started = time.perf_counter()
    again = client.get("/join/demo/poster.png?size=a5&lang=en")
    cached_seconds = time.perf_counter() - started
    assert first.status_code == again.status_code == 200
    assert again.data == first.data
    assert posters.cache_info() == (1, 1)  # (hits, misses)
    assert cached_seconds < 0.05
    # Another language, size or format is another poster.
    client.get("/join/demo/poster.png?size=a5&lang=ru")
    client.get("/join/demo/poster.png?size=a4&lang=en")
    client.get("/join/demo/poster.pdf?size=a5&lang=en")
    assert posters.cache_info() == (1, 4)
    # A design change draws it anew.
    demo.background_color = "#102030"
    session.commit()
    changed = client.get("/join/demo/poster.png?size=a5&lang=en")
    assert changed.data != first.data
    assert posters.cache_info() == (1, 5)


def test_posters_are_rate_limited_per_address(client: FlaskClient, demo: Program) -> None:
    statuses = [client.get("/join/demo/poster.png?size=a5").status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    limited = client.get("/join/demo/poster.png?size=a5")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
