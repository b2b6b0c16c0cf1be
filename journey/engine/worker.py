"""The worker loop: passes on the real clock, a sync cycle on its schedule, a prompt stop.

Pipeline position: ``journey worker`` (thin) -> **worker** -> runner (passes) and
``engine.sync`` (cycles), in one process, so actions decide on data the sync just read
and one process serves the embedded org (``engine.locks``). ``journey sync`` stays for a
one-off cycle.

The loop, until ``stop`` is set::

    publish edited journeys (a bad edit is reported; the last good versions keep running)
    a sync cycle, when one is due: at start, then every [sync] every
    a runner pass until idle at the clock's now
    wait ``poll`` seconds (or until the next cycle is due, or ``stop``)

Stopping: ``stop`` is a ``threading.Event`` the CLI sets from SIGTERM/SIGINT. Every wait
is ``stop.wait``, never ``time.sleep``, so an idle worker stops at once; the runner checks
it between batches and the sync between objects and pages, so a busy one stops after the
batch or page in flight. What was committed stays; a batch abandoned between its intents
and their outcomes is reconciled at the next start (``Runner.recover``); a sync cycle cut
short is read again from its watermark. A call that hangs is bounded by the connector's
timeouts, and ``journey worker`` abandons one still in flight a few seconds after the
signal (``cli.worker``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from journey.engine.journeys import JourneyLoadError
from journey.engine.project import Project
from journey.engine.runner import PassReport
from journey.engine.sync import CycleSummary, SyncRun, run_cycle

__all__ = ["Worker", "WorkerOutput"]


class WorkerOutput(Protocol):
    """What the worker tells its caller (the CLI prints it)."""

    def passed(self, report: PassReport) -> None:
        """A pass that did something (an idle pass is not reported)."""

    def synced(self, summary: CycleSummary) -> None:
        """A sync cycle ended (``summary.stopped`` says why when it stopped early)."""

    def published(self) -> None:
        """Edited journeys were published; new runs take the new versions."""

    def refused(self, problem: str) -> None:
        """An edit in ``journeys/`` does not compile; the last good versions keep running."""


def _now() -> datetime:
    return datetime.now(UTC)


class Worker:
    """The loop of the module docstring over an open project."""

    def __init__(
        self,
        project: Project,
        stop: threading.Event,
        *,
        poll: float = 1.0,
        batch_size: int = 1000,
        sync: SyncRun | None = None,
        sync_every: float = 600.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.project, self.stop = project, stop
        self.poll, self.sync, self.sync_every, self.clock = poll, sync, sync_every, clock
        self.runner = project.runner(batch_size)
        if sync is not None:
            sync.should_stop = stop.is_set

    def _publish(self, out: WorkerOutput) -> None:
        """Publish edits in journeys/; a file that does not load is reported and keeps its
        last good version while the others publish (``reload_journeys``)."""
        if not self.project.reload_journeys(self.clock()):
            return
        self.runner.catalog = self.project.catalog
        out.published()
        if self.project.catalog.problems:
            out.refused(str(JourneyLoadError(self.project.catalog.problems)))

    def run(self, out: WorkerOutput, *, exit_when_idle: bool = False) -> None:
        """Loop until ``stop`` is set (or, with ``exit_when_idle``, until a pass finds
        nothing to do after the first sync cycle)."""
        next_sync = time.monotonic()  # a cycle first: the first pass decides on fresh data
        while not self.stop.is_set():
            self._publish(out)
            if self.sync is not None and time.monotonic() >= next_sync:
                out.synced(run_cycle(self.sync))
                next_sync = time.monotonic() + self.sync_every
                if self.stop.is_set():
                    break
            report = self.runner.run_until_idle(self.clock(), should_stop=self.stop.is_set)
            if report.events or report.runs or report.reconciled:
                out.passed(report)
            elif exit_when_idle:
                break
            wait = self.poll
            if self.sync is not None:
                wait = max(0.0, min(wait, next_sync - time.monotonic()))
            self.stop.wait(wait)
