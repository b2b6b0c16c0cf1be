"""The journaling connector: performs nothing, decides nothing, writes every request down.

Pipeline position: executor -> **journal** (instead of Salesforce). Commands that open a
project without acting on Salesforce (``open_project`` without a connector, the intake
commands, ``JOURNEY_CONNECTOR=journal``) need *a* connector; this one answers ``done`` to
every request and changes nothing on the contact. It knows no Salesforce rule on purpose:
there is one set of those, ``journey.connectors.salesforce``, and a dry run runs it
(``journey.connectors.scratch``). Engine tests use it where the engine's own behaviour is
under test — paths, waits, crash safety — not what Salesforce would answer.

With ``journal=PATH`` every applied request is appended to a SQLite file of its own, in its
own transaction, *before* ``perform`` returns. That journal is outside the engine's store:
the crash test counts applications per key there, and ``reconcile`` answers from it. No
uniqueness is enforced on purpose — an engine that applied a key twice must show up as two
rows, not be silently forgiven.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from journey.connectors.base import (
    EffectRequest,
    EffectResult,
    Reconciled,
    result_from_json,
    result_to_json,
)
from journey.dsl.syntax import Action

__all__ = ["JournalingConnector"]


class JournalingConnector:
    """A connector that answers ``done`` and writes the request down (module docstring).

    ``journal``: the durable record; without one, requests and results are kept in ``log``
    unless ``keep_log`` is False.
    """

    name = "journal"

    def __init__(self, journal: Path | None = None, keep_log: bool = True) -> None:
        self.log: list[tuple[Action, EffectRequest, EffectResult]] = []
        self._keep_log = keep_log
        self._journal: sqlite3.Connection | None = None
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            self._journal = sqlite3.connect(journal, isolation_level=None, timeout=30)
            self._journal.execute("PRAGMA journal_mode=WAL")
            self._journal.execute(
                "CREATE TABLE IF NOT EXISTS applied (key TEXT NOT NULL, action TEXT NOT NULL,"
                " result TEXT NOT NULL)"
            )
            self._journal.execute("CREATE INDEX IF NOT EXISTS applied_key ON applied(key)")

    # ------------------------------------------------------------------ interface

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        # Deciding nothing: no Salesforce rule lives here (the Salesforce connector has them).
        results = [EffectResult(request.key, "done") for request in requests]
        if self._journal is not None:
            rows = [(r.key, type(action).__name__, result_to_json(r)) for r in results]
            with self._journal:  # its own transaction, committed before we return
                self._journal.execute("BEGIN IMMEDIATE")
                self._journal.executemany("INSERT INTO applied VALUES (?, ?, ?)", rows)
        elif self._keep_log:  # without a journal, memory is the record (tests)
            self.log.extend((action, q, r) for q, r in zip(requests, results, strict=True))
        return results

    def reconcile(self, action: Action, requests: Sequence[EffectRequest]) -> list[Reconciled]:
        answers: list[Reconciled] = []
        for request in requests:
            row = None
            if self._journal is not None:
                row = self._journal.execute(
                    "SELECT result FROM applied WHERE key = ? LIMIT 1", (request.key,)
                ).fetchone()
            if row is None:
                answers.append(Reconciled(request.key, applied=False))
            else:
                answers.append(
                    Reconciled(request.key, applied=True, result=result_from_json(row[0]))
                )
        return answers

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def applications(self) -> dict[str, int]:
        """How many times each key was applied (from the journal): the crash test's proof."""
        if self._journal is None:
            counts: dict[str, int] = {}
            for _, _, result in self.log:
                counts[result.key] = counts.get(result.key, 0) + 1
            return counts
        rows = self._journal.execute("SELECT key, COUNT(*) FROM applied GROUP BY key")
        return {str(k): int(n) for k, n in rows}
