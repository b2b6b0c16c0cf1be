"""The worker loop: passes on the real clock, the sync when this worker leads it, a prompt
stop.

Pipeline position: ``journey worker`` (thin) -> **worker** -> runner (passes) and
``engine.sync`` (cycles), in one process, so actions decide on data the sync just read.
Production runs ``journey worker`` alone — one, or many against one PostgreSQL store on
one or more machines: every worker runs journeys; exactly one, the sync's leader
(``engine.leadership``), runs sync cycles. ``journey sync`` stays for a one-off cycle.

The loop, until ``stop`` is set::

    publish edited journeys (a bad edit is reported; the last good versions keep running)
    a sync cycle, when one is due and this worker leads the sync (re-checked each time)
    a runner pass until idle at the clock's now
    after a pass that found nothing to do (or was paused by the connector): wait ``poll``
    seconds (or until the next cycle is due, new work is announced, or ``stop``)

Beside the loop, the worker is in the registry (``engine.fleet``) with a heartbeat thread;
its wait wakes at once when new events are announced on PostgreSQL (``engine.wakeups``).
A store that goes away (PostgreSQL restarting) is reported and waited for, not fatal: the
next pass reconciles what the interrupted one left in doubt (``Runner.recover``), and the
leadership is taken again from scratch.

Stopping: ``stop`` is a ``threading.Event`` the CLI sets from SIGTERM/SIGINT. No wait
sleeps past it, so an idle worker stops at once; the runner checks it between batches and
the sync between objects and pages, so a busy one stops after the batch or page in flight.
What was committed stays; a batch abandoned between its intents and their outcomes is
reconciled at the next start (``Runner.recover``); a sync cycle cut short is read again
from its watermark. A call that hangs is bounded by the connector's timeouts, and
``journey worker`` abandons one still in flight a few seconds after the signal
(``cli.worker``). A clean stop leaves the registry and lets go of the leadership, so a
follower takes the sync over at its next try.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from journey.engine import fleet
from journey.engine.journeys import JourneyLoadError
from journey.engine.leadership import SyncLeadership
from journey.engine.project import Project
from journey.engine.runner import PassReport
from journey.engine.sync import CycleSummary, SyncRun, run_cycle
from journey.engine.wakeups import WakeUps

__all__ = ["Worker", "WorkerOutput", "WorkerStats"]

#: Longest wait before looking at a store that went away again (seconds).
STORE_RETRY = 2.0


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

    def leading(self, leads: bool) -> None:
        """This worker took the sync's leadership (``True``) or found another worker holds
        it (``False``): said on PostgreSQL when it changes, and at the first cycle."""

    def store_away(self, problem: str) -> None:
        """The store could not be reached (PostgreSQL restarting): the worker waits for it."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerStats:
    """Where this worker's time went (``journey worker --stats``), in seconds of its loop:
    passes (working runs), sync cycles, waits between passes and waits for a store that
    went away. A fleet whose workers wait while work is left has a wake-up problem; one
    whose claims come back empty (``claims.ClaimStats``) a contention problem."""

    passes: int = 0
    idle_passes: int = 0
    pass_seconds: float = 0.0
    sync_seconds: float = 0.0
    waits: int = 0
    #: Waits ended early by a notification of new work (``engine.wakeups``).
    woken: int = 0
    wait_seconds: float = 0.0
    store_away_seconds: float = 0.0
    loop_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


class Worker:
    """The loop of the module docstring over an open project. ``on_beat`` callables run on
    each heartbeat after the runner's lease renewal; ``worker_id`` is this worker's id in the
    registry (made up when not given)."""

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
        command: str = "worker",
        worker_id: str | None = None,
        beat: float = fleet.BEAT_SECONDS,
        on_beat: Iterable[Callable[[], object]] = (),
    ) -> None:
        self.project, self.stop = project, stop
        self.poll, self.sync, self.sync_every, self.clock = poll, sync, sync_every, clock
        self.id, self.command = worker_id or fleet.new_worker_id(), command
        self.runner = project.runner(batch_size, worker_id=self.id)
        url = project.store.engine.url.render_as_string(hide_password=False)
        self.leadership = SyncLeadership(url, self.id)
        self.wakeups = WakeUps(url)
        self.heartbeat = fleet.Heartbeat(
            project.store,
            self.id,
            command,
            every=beat,
            on_beat=[self.runner.renew_leases, *on_beat],
            leads=lambda: self.leadership.leads,
            clock=clock,
        )
        self._told: bool | None = None
        self.stats = WorkerStats()
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

    def _leads(self, out: WorkerOutput) -> bool:
        """Whether this worker runs the cycle that is due: the lock is re-checked now."""
        leads = self.leadership.ensure()
        if leads != self._told:
            fleet.mark_leader(self.project.store, self.id, leads)
            if self.leadership.on_postgresql:  # elsewhere the one worker always leads
                out.leading(leads)
            self._told = leads
        return leads

    def run(self, out: WorkerOutput, *, exit_when_idle: bool = False) -> None:
        """Loop until ``stop`` is set (or, with ``exit_when_idle``, until a pass finds
        nothing to do after the first sync cycle), registered in the fleet meanwhile."""
        fleet.register(self.project.store, self.command, worker_id=self.id, now=self.clock())
        self.heartbeat.start()
        self.wakeups.listen()
        try:
            self._loop(out, exit_when_idle)
        finally:
            self.heartbeat.stop()
            with contextlib.suppress(sa.exc.DBAPIError):  # store away: the leases expire
                self.runner.release_all()
            self.leadership.release()
            self.wakeups.close()
            with contextlib.suppress(sa.exc.DBAPIError):  # store away: shown gone, swept
                fleet.deregister(self.project.store, self.id)

    def _loop(self, out: WorkerOutput, exit_when_idle: bool) -> None:
        stats = self.stats
        began = next_sync = time.monotonic()  # a cycle first: passes decide on fresh data
        try:
            while not self.stop.is_set():
                try:
                    self._publish(out)
                    if self.sync is not None and time.monotonic() >= next_sync:
                        started = time.monotonic()
                        if self._leads(out):
                            out.synced(run_cycle(self.sync))
                        next_sync = time.monotonic() + self.sync_every
                        stats.sync_seconds += next_sync - self.sync_every - started
                        if self.stop.is_set():
                            break
                    started = time.monotonic()
                    self.wakeups.drain()
                    report = self.runner.run_until_idle(self.clock(), should_stop=self.stop.is_set)
                    stats.passes += 1
                    stats.pass_seconds += time.monotonic() - started
                except sa.exc.OperationalError as exc:
                    if self.project.store.is_sqlite:
                        raise
                    out.store_away(str(exc.orig or exc).strip().splitlines()[0])
                    started = time.monotonic()
                    self.stop.wait(min(self.poll, STORE_RETRY))
                    stats.store_away_seconds += time.monotonic() - started
                    continue
                if report.events or report.runs or report.reconciled:
                    out.passed(report)
                    if not report.paused:
                        # Work came due while it ran (other workers' runs, waits ending):
                        # the next pass starts now, on a fresh clock, not after the poll.
                        continue
                else:
                    stats.idle_passes += 1
                    if exit_when_idle:
                        break
                wait = self.poll
                if self.sync is not None:
                    wait = max(0.0, min(wait, next_sync - time.monotonic()))
                started = time.monotonic()
                stats.woken += self.wakeups.wait(wait, self.stop)
                stats.waits += 1
                stats.wait_seconds += time.monotonic() - started
        finally:
            stats.loop_seconds = time.monotonic() - began
