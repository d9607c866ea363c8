"""The work queue's contract: one key once, never to two workers, bounded retries."""

from __future__ import annotations

from elemental_operator.workqueue import WorkQueue

KEY = ("ns", "name")


def test_a_key_queued_twice_is_handed_out_once() -> None:
    queue = WorkQueue()
    queue.add(KEY)
    queue.add(KEY)
    assert queue.get(timeout=1) == KEY
    assert queue.get(timeout=0) is None


def test_a_key_changed_while_processed_comes_back_after_done() -> None:
    queue = WorkQueue()
    queue.add(KEY)
    assert queue.get(timeout=1) == KEY
    queue.add(KEY)
    assert queue.get(timeout=0) is None  # not to a second worker
    queue.done(KEY)
    assert queue.get(timeout=1) == KEY


def test_retries_back_off_and_stop_after_max_retries() -> None:
    queue = WorkQueue(base_delay=0.001, max_delay=0.004, max_retries=4)
    delays = []
    for _ in range(4):
        delays.append(queue.add_rate_limited(KEY))
        assert queue.get(timeout=5) == KEY
        queue.done(KEY)
    assert delays == [0.001, 0.002, 0.004, 0.004]
    assert queue.add_rate_limited(KEY) is None
    assert queue.depth() == 0  # nothing scheduled: the key waits for its object to change
    assert queue.add_rate_limited(KEY) == 0.001  # and a later failure starts afresh


def test_forget_resets_the_back_off() -> None:
    queue = WorkQueue(base_delay=0.001, max_retries=2)
    queue.add_rate_limited(KEY)
    queue.add_rate_limited(KEY)
    queue.forget(KEY)
    assert queue.add_rate_limited(KEY) == 0.001


def test_get_after_shutdown_returns_none() -> None:
    queue = WorkQueue()
    queue.shutdown()
    queue.add(KEY)
    assert queue.get(timeout=5) is None
