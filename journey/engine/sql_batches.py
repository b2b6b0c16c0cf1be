"""Id lists cut into batches that fit one SQL ``IN (...)`` clause.

Pipeline position: used by the modules that read or write contacts in bulk
(``engine.contact_loading``, ``engine.change_effects``, ``engine.intake``,
``engine.triggers``), so a batch of 100,000 contacts
costs a few statements per 900 ids rather than one statement per contact, and never more
bound parameters than SQLite allows in one statement (999 in its older builds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = ["IN_BATCH", "in_batches"]

T = TypeVar("T")

#: Ids per ``IN (...)``: under SQLite's historical 999 bound-parameter limit, with room
#: for the statement's other parameters.
IN_BATCH = 900


def in_batches(items: Sequence[T], size: int = IN_BATCH) -> Iterable[Sequence[T]]:
    """Consecutive slices of ``items``, each at most ``size`` long."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
