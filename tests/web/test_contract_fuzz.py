"""schemathesis against the real app: every operation of /api/v1/openapi.json, positive and
negative data, then the document's links as a state machine (enroll -> look up -> purchase
-> refund; campaign -> progress). No server error, no contract failure.

The seed is printed (set WALLETPASS_FUZZ_SEED to replay a run), with a short report.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from app.bootstrap import Services, build_services, upgrade_database
from app.clock import FixedClock
from app.passes.apple.certs import DevChain
from app.services import staff, terminals
from app.services.programs import seed_demo
from tests.conftest import make_settings
from tests.helpers import START

pytestmark = pytest.mark.slow
PATH = ParameterLocation.PATH

EXAMPLES = int(os.environ.get("WALLETPASS_FUZZ_EXAMPLES", "40"))
STEPS = int(os.environ.get("WALLETPASS_FUZZ_SCENARIOS", "60"))
# A schema-valid request may still be refused for what only the domain knows: an unknown
# card or receipt (404), a spent code or a taken phone (409), a blocked card or a phone
# number that does not exist (422). Everything else must succeed.
ACCEPTED = ["2xx", "401", "403", "404", "409", "422", "429"]
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED},
        # A body over the size limit (a long list of lines) is refused before it is read.
        "negative_data_rejection": {"expected-statuses": [*REFUSED, "413"]},
    },
    "generation": {"max-examples": EXAMPLES},
}


Fuzzed = tuple[Flask, dict[str, str], Callable[[], None]]


@pytest.fixture
def fuzzed_app(tmp_path: Path, dev_chain: DevChain) -> Iterator[Fuzzed]:
    """The app on a SQLite file of its own, committing for real: the demo program, an
    admin's staff token, a terminal key; ``reset`` puts the database back as seeded."""
    from app.web import create_app

    settings = make_settings(
        tmp_path,
        WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent),
        WALLETPASS_POS_RATE_LIMIT="100000/minute",
        WALLETPASS_ENROLL_PHONE_RATE_LIMIT="100000/minute",
        WALLETPASS_ENROLL_RATE_LIMIT="100000/minute",
    )
    upgrade_database(settings.database_url)
    services: Services = build_services(settings, clock=FixedClock(START))
    try:
        with services.write_sessions() as session:
            program = seed_demo(session, services.clock)
            user = staff.add_user(
                session,
                services.clock,
                email="admin@example.com",
                name="admin",
                role="admin",
                password="a long enough passphrase",
                actor="test",
                programs=[program],
            )
            token = staff.create_api_token(session, services.clock, user, "fuzz")
            _, key = terminals.add_terminal(session, services.clock, program, "Till 1")
            session.commit()
        live = str(tmp_path / "test.db")
        seeded = sqlite3.connect(":memory:")
        with closing(sqlite3.connect(live)) as conn:
            conn.backup(seeded)

        def reset() -> None:
            services.engine.dispose()
            with closing(sqlite3.connect(live)) as conn:
                seeded.backup(conn)

        yield create_app(services=services), {"staff": token, "terminal": key}, reset
        seeded.close()
    finally:
        services.close()


# Phone numbers that exist (the domain checks with libphonenumber): Moscow mobiles.
schemathesis.openapi.format("phone", st.from_regex(r"\+7916[0-9]{7}", fullmatch=True))


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(operation: Any, mode: GenerationMode, statuses: Counter[str]) -> Any:
    @_settings(EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call()
        statuses[f"{operation.label} {response.status_code}"] += 1
        case.validate_response(response)

    return run


def _scenarios(schema: Any, reset: Callable[[], None], linked: Counter[str]) -> Any:
    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario on the seeded database: Hypothesis replays scenarios and
            # needs the same answers (an enrolled phone would answer 409 the second time).
            reset()

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            linked[f"{case.operation.label} {response.status_code}"] += 1

    return Machine


def test_schemathesis_finds_no_server_error_and_no_contract_failure(
    fuzzed_app: Fuzzed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app, keys, reset = fuzzed_app
    seed = int(os.environ.get("WALLETPASS_FUZZ_SEED") or random.randrange(2**32))
    # One seed for every draw of this test, the state machine's included.
    monkeypatch.setattr(hypothesis.core, "global_force_seed", seed)
    report = [f"\nschemathesis {schemathesis.__version__}, seed {seed} (WALLETPASS_FUZZ_SEED)"]
    # The document's security schemes name which key each operation takes.
    auth = {"openapi": {name: {"bearer": key} for name, key in keys.items()}}
    config = SchemathesisConfig.from_dict({**CONFIG, "auth": auth})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        """A valid path names the demo program (the fixture seeds no other)."""
        path = case.path_parameters
        if path and "slug" in path and not (case.meta and case.meta.is_negative_at(PATH)):
            case.path_parameters = {**path, "slug": "demo"}
        return case

    statuses: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = _fuzz(operation, mode, statuses)
            try:
                run()
            except (Exception, BaseExceptionGroup) as error:  # a FailureGroup, with its case
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    calls = sum(statuses.values())

    linked: Counter[str] = Counter()
    # Links as scenarios: enroll -> look up -> purchase -> refund over the whole document;
    # campaign -> progress on the staff operations (schemathesis starts scenarios only at
    # operations that need no program, unless a subset has none such).
    for subset in (schema, schema.include(path_regex="campaigns")):
        try:
            _scenarios(subset, reset, linked).run(
                settings=hypothesis.settings(
                    max_examples=STEPS,
                    stateful_step_count=6,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"stateful: {error}")

    seconds = time.monotonic() - started
    by_status: Counter[str] = Counter()
    for key, count in statuses.items():
        by_status[key.rsplit(" ", 1)[1]] += count
    report.append(
        f"{len(operations)} operations, {calls} single calls, {STEPS} linked scenarios, "
        f"{seconds:.0f} s; single calls by status: {dict(sorted(by_status.items()))}"
    )
    report.append(f"linked calls: {sum(linked.values())}, by operation and status:")
    report += [f"   {key}: {count}" for key, count in sorted(linked.items())]
    if os.environ.get("WALLETPASS_FUZZ_VERBOSE"):
        report += [f"   {key}: {count}" for key, count in sorted(statuses.items())]
    report.append(f"{len(failures)} failures")
    report += [f" - {failure[:3000]}" for failure in failures]
    with capsys.disabled():  # in the test output even when it passes
        print("\n".join(report))
    assert not failures
