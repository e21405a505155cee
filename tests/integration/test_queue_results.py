"""The queue keeps no task results: nothing reads them, and each task's result stayed in
the queue's storage for ever (a thousand per million-card campaign)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.queue import TaskQueue, make_huey


@pytest.mark.parametrize("url", [None, "memory://"], ids=["sqlite", "memory"])
def test_delivered_tasks_leave_nothing_in_the_queue_storage(
    tmp_path: Path, url: str | None
) -> None:
    queue = TaskQueue(make_huey(url, tmp_path))
    queue.handle("deliver_passes", lambda ids: {"delivered": len(ids)})
    queue.deliver(range(2500))
    done = []
    while (task := queue.huey.dequeue()) is not None:
        done.append(queue.huey.execute(task))
    assert done == [{"delivered": 1000}, {"delivered": 1000}, {"delivered": 500}]
    assert queue.huey.storage.result_store_size() == 0
    assert queue.pending() == 0
