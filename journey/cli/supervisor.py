"""``journey worker --processes N``: N worker processes on this machine, one supervisor.

Pipeline position: beside ``cli.worker``: the supervisor starts N ``journey worker``
processes with the same options and stays in front of them for the service manager. It
works no runs itself; each child registers in the fleet (``engine.fleet``) like a worker
started by hand, so ``journey status`` lists them all.

* Signals: SIGTERM and SIGINT are forwarded once to every child (the children run in their
  own process group, so a Ctrl-C at a terminal reaches them once, through here); each
  stops after the batch in flight, as a worker does. A child still running
  ``KILL_AFTER_SECONDS`` later is killed (what it left half-done is reconciled by the next
  worker). Exit 0 on SIGTERM, 130 on SIGINT.
* Crashes: a child that dies by itself (a signal such as ``kill -9`` or the OOM killer, or
  an unexpected exit code) is started again, after a pause that doubles while it keeps
  dying soon after its start (1 s up to a minute), so a fleet keeps its size without a
  crash loop hammering the database. A child that exits 0 (``--exit-when-idle``) is done.
  A child that exits 2 could not start (a bad ``journey.toml``, a refused store): every
  start would fail alike, so the supervisor stops the others and exits 2 — the service
  manager's restart policy takes it from there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

__all__ = ["KILL_AFTER_SECONDS", "supervise"]

#: Seconds the children get to stop after the forwarded signal before they are killed.
KILL_AFTER_SECONDS = 20.0
#: A child that ran this long before dying is restarted after the shortest pause again.
_STEADY_SECONDS = 60.0
_FIRST_PAUSE, _LONGEST_PAUSE = 1.0, 60.0
#: The exit code of a command that could not start (``cli.errors.ExitCode.USAGE``).
_COULD_NOT_START = 2


@dataclass
class _Slot:
    number: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    pause: float = _FIRST_PAUSE
    restart_at: float | None = None
    done: bool = False


def supervise(
    processes: int,
    worker_args: Sequence[str],
    say: Callable[[str], None],
) -> int:
    """Run ``processes`` children of ``journey worker *worker_args`` until a signal (or
    until every child is done); the exit code (module docstring)."""
    command = [sys.executable, "-m", "journey", "worker", *worker_args]
    slots = [_Slot(n) for n in range(1, processes + 1)]
    stop = threading.Event()
    received: list[int] = []

    def start(slot: _Slot) -> None:
        slot.process = subprocess.Popen(command, process_group=0)
        slot.started, slot.restart_at = time.monotonic(), None
        say(f"worker {slot.number} of {processes} started (pid {slot.process.pid})")

    def forward(signum: int) -> None:
        for slot in slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.process.send_signal(signum)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()
        forward(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    code = 0
    try:
        for slot in slots:
            start(slot)
        while not stop.is_set() and not all(s.done for s in slots):
            for slot in slots:
                code = _tend(slot, start, say) or code
            if code:
                forward(signal.SIGTERM)
                break
            stop.wait(0.2)
    finally:
        _wait_all(slots, say)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if code:
        return code
    return 130 if received and received[0] == signal.SIGINT else 0


def _tend(slot: _Slot, start: Callable[[_Slot], None], say: Callable[[str], None]) -> int:
    """Restart a crashed child when its pause is over; a child that could not start ends
    the whole fleet (its exit code returned)."""
    if slot.done:
        return 0
    if slot.process is None:
        if slot.restart_at is not None and time.monotonic() >= slot.restart_at:
            start(slot)
        return 0
    exit_code = slot.process.poll()
    if exit_code is None:
        return 0
    slot.process = None
    if exit_code == 0:
        slot.done = True
        return 0
    if exit_code == _COULD_NOT_START:
        say(f"worker {slot.number} could not start (exit 2): stopping the others")
        slot.done = True
        return _COULD_NOT_START
    if time.monotonic() - slot.started >= _STEADY_SECONDS:
        slot.pause = _FIRST_PAUSE
    pause, slot.pause = slot.pause, min(slot.pause * 2, _LONGEST_PAUSE)
    how = f"signal {-exit_code}" if exit_code < 0 else f"exit {exit_code}"
    say(f"worker {slot.number} died ({how}): starting it again in {pause:.0f} s")
    slot.restart_at = time.monotonic() + pause
    return 0


def _wait_all(slots: Sequence[_Slot], say: Callable[[str], None]) -> None:
    deadline = time.monotonic() + KILL_AFTER_SECONDS
    for slot in slots:
        process = slot.process
        if process is None:
            continue
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"worker {slot.number} (pid {process.pid}) did not stop: killed")
            process.kill()
            process.wait()
