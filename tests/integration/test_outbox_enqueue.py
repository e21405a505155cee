"""A committed change enqueues its delivery; a rolled-back one does not."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.passes.models import WalletPass
from app.passes.sync import mark_card_changed, mark_changed
from app.services import enrollment


def queued(services: Services) -> list[list[int]]:
    """Pass-id chunks of the delivery tasks waiting in the queue."""
    return [task.args[0] for task in services.queue.huey.pending() if task.name == "deliver_passes"]


@pytest.fixture
def pass_id(session: Session, services: Services, demo: Program) -> int:
    form = enrollment.EnrollmentForm(name="Q", phone="+79003330001", consent=True)
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    services.queue.huey.flush()
    return session.scalars(select(WalletPass.id).where(WalletPass.card_id == card.id)).one()


def test_commit_enqueues_the_changed_passes(
    session: Session, services: Services, pass_id: int
) -> None:
    mark_changed(session, services.clock, [pass_id])
    assert queued(services) == []  # nothing leaves before the commit
    session.commit()
    assert queued(services) == [[pass_id]]


def test_rollback_enqueues_nothing(session: Session, services: Services, pass_id: int) -> None:
    card_id = session.scalar(select(WalletPass.card_id).where(WalletPass.id == pass_id))
    assert card_id is not None
    mark_card_changed(session, services.clock, card_id)
    session.rollback()
    session.commit()
    assert queued(services) == []


def test_a_failed_savepoint_keeps_earlier_changes_of_the_transaction(
    session: Session, services: Services, pass_id: int
) -> None:
    mark_changed(session, services.clock, [pass_id])
    with pytest.raises(RuntimeError), session.begin_nested():
        raise RuntimeError("a failing inner step")
    session.commit()
    assert queued(services) == [[pass_id]]


def test_many_passes_are_split_into_chunks(services: Services) -> None:
    assert services.queue.deliver(range(2500)) == 3
    assert [len(chunk) for chunk in queued(services)] == [1000, 1000, 500]
