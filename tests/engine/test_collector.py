"""The collector held back for a batch is given back as it was: a worker runs pass after
pass, and a process left frozen would never collect what it holds at the time."""

from __future__ import annotations

import gc
import threading

from journey.engine.collector import BATCH_THRESHOLD, held_back


def test_nested_and_concurrent_blocks_give_the_collector_back_as_it_was() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    inside: list[tuple[int, int, int]] = []
    with held_back():
        assert gc.get_threshold()[0] >= BATCH_THRESHOLD
        with held_back():  # a dry run inside a pass, or a second thread's pass
            pass
        other = threading.Thread(target=lambda: inside.append(_in_a_block()))
        other.start()
        other.join(timeout=10)
        # The inner and the other thread's blocks ended; the outer one still holds.
        assert gc.get_threshold()[0] >= BATCH_THRESHOLD
        assert gc.get_freeze_count() > frozen
    assert inside
    assert inside[0][0] >= BATCH_THRESHOLD
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)


def test_a_block_that_fails_gives_the_collector_back() -> None:
    before = gc.get_threshold()
    try:
        with held_back():
            raise RuntimeError("a batch that failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def _in_a_block() -> tuple[int, int, int]:
    with held_back():
        return gc.get_threshold()
