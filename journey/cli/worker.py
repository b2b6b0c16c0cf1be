"""The command ``journey worker``: passes on the real clock, the sync on its schedule, a
prompt stop on SIGTERM/SIGINT.

Pipeline position: thin — the loop is ``engine.worker``; here are the signals, the
sync source that shares the worker's connector, and the lines printed. ``--processes N``
hands over to ``cli.supervisor``, which starts N of these. Exit codes: 0 when
it stopped by itself (``--exit-when-idle``) or on SIGTERM (what a service manager sends);
130 on Ctrl-C / SIGINT, as shells count it (``cli.errors.ExitCode.INTERRUPTED``). A
second signal, or a batch or call still in flight ``GRACE_SECONDS`` after the first,
is abandoned (its intents are reconciled at the next start, as after ``kill -9``), so
the worker is gone within seconds whatever the org does.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

import typer

from journey.cli.app import app
from journey.cli.errors import ExitCode, fail
from journey.cli.runs import acting_project, parse_moment, pass_summary, recording_only
from journey.cli.supervisor import supervise
from journey.cli.sync import summary_line
from journey.connectors.salesforce.replication import replication_for
from journey.engine.claims import ClaimStats
from journey.engine.config import load_config
from journey.engine.project import Project
from journey.engine.runner import PassReport
from journey.engine.sync import CycleSummary, SyncRun
from journey.engine.worker import Worker, WorkerStats

__all__ = ["worker_command"]


class _WorkerOutput:
    """The worker's lines: one per pass that did something and one per sync cycle
    (``--json``: one object per line, ``kind`` "pass" or "sync")."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def _line(self, kind: str, text: str, data: Mapping[str, Any]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        if self.as_json:
            typer.echo(json.dumps({"at": stamp, "kind": kind, **data}, sort_keys=True))
        else:
            typer.echo(f"{stamp} {text}")

    def passed(self, report: PassReport) -> None:
        self._line("pass", pass_summary(report), report.as_dict())

    def synced(self, summary: CycleSummary) -> None:
        self._line("sync", summary_line(summary), summary.as_dict())

    def published(self) -> None:
        typer.echo("journeys changed: published the new versions")

    def leading(self, leads: bool) -> None:
        text = (
            "this worker leads the sync"
            if leads
            else "another worker leads the sync: this one runs journeys"
        )
        self._line("leader", text, {"leads": leads})

    def store_away(self, problem: str) -> None:
        self._line(
            "store", f"the store is unreachable ({problem}): waiting for it", {"problem": problem}
        )

    def stats(self, worker: WorkerStats, claims: ClaimStats) -> None:
        busy = worker.pass_seconds / worker.loop_seconds if worker.loop_seconds else 0.0
        text = (
            f"stopped after {worker.loop_seconds:.1f} s: {worker.passes} passes "
            f"({busy:.0%} of the time), {worker.wait_seconds:.1f} s waiting between them "
            f"(woken early {worker.woken} of {worker.waits} times); claims: {claims.runs} "
            f"runs in {claims.batches} batches, {claims.empty} empty, {claims.missed} runs "
            f"another worker leased first, {claims.lost} batches dropped by the fence"
        )
        self._line("stats", text, {"worker": worker.as_dict(), "claims": claims.as_dict()})

    def refused(self, problem: str) -> None:
        typer.echo(
            "error: a journey in journeys/ does not load; it keeps its last good version "
            f"(or stays out), the others are published:\n{problem}",
            err=True,
        )


def _sync_for(project: Project, no_sync: bool) -> SyncRun | None:
    """The sync the worker runs, sharing its connector; none when recording or told so."""
    if no_sync or recording_only():
        return None
    try:
        source = replication_for(
            project.connector, bulk_threshold=project.config.sync.bulk_threshold
        )
    except TypeError:  # not a Salesforce connector: nothing to sync with
        return None
    return SyncRun(
        project.store, source, project.config, lambda: project.context(datetime.now(UTC))
    )


#: Seconds a stopping worker may spend finishing the batch or call in flight before it
#: abandons it: within the promise of stopping in 10 s, whatever the call timeouts are.
GRACE_SECONDS = 5.0


@contextmanager
def _stop_on_signals() -> Iterator[tuple[threading.Event, list[int]]]:
    """SIGTERM/SIGINT set the event: the worker finishes its batch and stops. A second
    signal (Ctrl-C twice), or ``GRACE_SECONDS`` without having stopped (a call that hangs),
    abandons what is in flight: the handler raises ``KeyboardInterrupt``, which a real
    signal delivers even inside a blocking read. The signals received are listed."""
    stop = threading.Event()
    received: list[int] = []
    main = threading.get_ident()
    timers: list[threading.Timer] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        timer = threading.Timer(GRACE_SECONDS, signal.pthread_kill, (main, signum))
        timer.daemon = True
        timers.append(timer)
        timer.start()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop, received
    finally:
        for timer in timers:
            timer.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@app.command(
    "worker",
    epilog="Example: journey worker --poll 5. Stops within seconds of SIGTERM (exit 0) or "
    "Ctrl-C / SIGINT (exit 130), after the batch in flight. One worker per SQLite store and "
    "per embedded org; on PostgreSQL any number, on any machines (docs/deployment.md).",
)
def worker_command(
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between passes.")] = 1.0,
    exit_when_idle: Annotated[
        bool, typer.Option("--exit-when-idle", help="Stop when a pass finds nothing to do.")
    ] = False,
    no_sync: Annotated[
        bool,
        typer.Option(
            "--no-sync", help="Do not run the sync (default: a cycle every [sync] every)."
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Runs per batch.")] = 1000,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per pass and per sync cycle.")
    ] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="At stop, say where the time went: passes, waits, claims (--json: a "
            '"stats" line).',
        ),
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes to start on this machine (PostgreSQL store for more than 1).",
        ),
    ] = 1,
) -> None:
    """Keep processing what is due, and syncing, until stopped (Ctrl-C / SIGTERM)."""
    if processes > 1:
        _refuse_a_fleet_it_cannot_share()
        options = ["--poll", str(poll), "--batch-size", str(batch_size)]
        options += ["--exit-when-idle"] * exit_when_idle + ["--no-sync"] * no_sync
        options += ["--json"] * as_json + ["--stats"] * stats
        code = supervise(processes, options, lambda text: typer.echo(text, err=True))
        if code:
            raise typer.Exit(code)
        return
    with _stop_on_signals() as (stop, received):
        try:
            with acting_project(parse_moment(None), act=True) as project:
                if not stop.is_set():
                    worker = Worker(
                        project,
                        stop,
                        poll=poll,
                        batch_size=batch_size,
                        sync=_sync_for(project, no_sync),
                        sync_every=project.config.sync.interval_seconds,
                    )
                    output = _WorkerOutput(as_json)
                    try:
                        worker.run(output, exit_when_idle=exit_when_idle)
                    finally:
                        if stats:
                            output.stats(worker.stats, worker.runner.claims.stats)
        except KeyboardInterrupt:
            if not received:  # not one of ours: an interrupt before the handlers were set
                raise
            typer.echo(
                "stopped: abandoned the work in flight; what it left half-done is "
                "reconciled when a worker or `journey run` starts again",
                err=True,
            )
    if received and received[0] == signal.SIGINT:
        raise typer.Exit(ExitCode.INTERRUPTED)


def _refuse_a_fleet_it_cannot_share() -> None:
    """Several workers need a store and an org they can share: PostgreSQL, a real org."""
    config = load_config()
    if not config.store_url.startswith("postgresql"):
        fail(
            "--processes: a SQLite store is worked by one process",
            hint="put the store on PostgreSQL to run several workers: [store] url = "
            '"postgresql+psycopg://…" (docs/deployment.md)',
        )
    if not config.salesforce.remote and not recording_only():
        fail(
            "--processes: the embedded org is served by one process",
            hint="connect a real org (`journey salesforce connect`) to run several workers, "
            "or run one",
        )
