"""The cyclic garbage collector, held back while a batch of contacts is worked through.

A pass of the runner or a dry run makes hundreds of thousands of short-lived objects per
batch — views, rows, records — that hold no reference cycles and are freed by their
counts as the batch ends. With CPython's default threshold (a collection every 700 net
allocations) the collector keeps walking them, and every object the process already holds
(modules, the journeys, SQLAlchemy's and lark's tables) with them: about a sixth of a
durable pass and a tenth of a dry run. ``held_back`` freezes what lives when the work
starts (the collector skips it) and collects less often while it runs; both are undone
after, for a process that goes on (a worker between passes, the tests). Cycles are still
collected, in fewer, larger collections.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BATCH_THRESHOLD", "held_back"]

#: The collector's first threshold while a batch is worked through.
BATCH_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def held_back() -> Iterator[None]:
    """The collector held back for the ``with`` block (module docstring). Nested or from
    several threads at once, only the outermost block freezes and restores: the collector
    is one per process, and an inner ``gc.unfreeze`` would let go of the outer's."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(BATCH_THRESHOLD, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
