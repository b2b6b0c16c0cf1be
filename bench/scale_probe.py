"""What ``bench/scale.py`` measures beside the wall clock: the CPU seconds each kind of
process spent (read from ``/proc``), and what the PostgreSQL sessions were doing (sampled
from ``pg_stat_activity`` and ``pg_locks``).

On a shared machine the wall clock says little; these say why the ratio is what it is on
a quiet one. CPU seconds per 1,000 contact-steps that grow with the workers are overhead
the workers add to each other; sessions waiting on a lock, or workers waiting between
passes while work is left, are time the cores could have worked and did not.

PostgreSQL's CPU: a session's process exits when its client disconnects, and the
postmaster reaps it, so the postmaster's ``cutime + cstime`` holds every ended session's
CPU; the live processes are read one by one. The probe's own session (the sampling) and
the autovacuum workers (their last reading before they exit) are counted apart.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
#: The postmaster's children that are not sessions (``ps`` titles after "postgres: ").
BACKGROUND = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
    "stats collector",
)


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU s, reaped children's CPU s) of a process; ``None`` once gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based.
    own = (int(fields[11]) + int(fields[12])) / TICK
    reaped = (int(fields[13]) + int(fields[14])) / TICK
    return int(fields[1]), own, reaped


def _title(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def process_cpu(pid: int) -> float:
    """A live process's own CPU seconds so far (0 once gone)."""
    found = _stat(pid)
    return found[1] if found else 0.0


@dataclass
class PgCpu:
    """A reading of the server's CPU seconds, by kind."""

    sessions: float = 0.0  # live sessions plus every reaped child
    background: float = 0.0  # postmaster, checkpointer, WAL writer, ...
    autovacuum: dict[int, float] = field(default_factory=dict)  # live workers, by pid


def read_pg_cpu(postmaster: int) -> PgCpu:
    reading = PgCpu()
    own = _stat(postmaster)
    if own is None:
        return reading
    reading.background += own[1]
    reading.sessions += own[2]
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        found = _stat(pid)
        if found is None or found[0] != postmaster:
            continue
        title = _title(pid).removeprefix("postgres: ")
        if title.startswith("autovacuum worker"):
            reading.autovacuum[pid] = found[1]
        elif title.startswith(BACKGROUND):
            reading.background += found[1]
        else:
            reading.sessions += found[1] + found[2]
    return reading


_SAMPLE = (
    "SELECT state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_type = 'client backend' "
    "AND pid <> pg_backend_pid()"
)
_BLOCKED = (
    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
    "WHERE NOT l.granted AND d.datname = current_database()"
)


class Sampler:
    """A thread that samples the server every ``every`` seconds, on a session of its own,
    while a run lasts: the sessions' states and waits, the locks not granted, and the
    autovacuum workers' CPU."""

    def __init__(self, dsn: str, postmaster: int, every: float = 0.25) -> None:
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)
        self.pid = int(self.conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        self.postmaster, self.every = postmaster, every
        self.samples = 0
        self.states: Counter[str] = Counter()  # session-samples per state
        self.waits: Counter[str] = Counter()  # session-samples per wait event
        self.blockers: Counter[str] = Counter()  # lock waits per statement (its start)
        self.blocked = 0  # lock requests not granted, summed over samples
        self.autovacuum: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        self.samples += 1
        for state, wait_type, wait, query in self.conn.execute(_SAMPLE).fetchall():
            kind = _state(state, wait_type)
            self.states[kind] += 1
            if wait_type and kind not in ("idle", "idle in transaction"):
                self.waits[f"{wait_type}:{wait}"] += 1
            if kind == "lock wait":
                self.blockers[" ".join(str(query).split())] += 1
        self.blocked += int(self.conn.execute(_BLOCKED).fetchone()[0])
        for pid, cpu in read_pg_cpu(self.postmaster).autovacuum.items():
            self.autovacuum[pid] = max(cpu, self.autovacuum.get(pid, 0.0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        self.conn.close()

    def summary(self) -> dict[str, Any]:
        """Average sessions in each state over the run (a sample counts the sessions in
        each), lock requests waiting on average, the commonest wait events."""
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "sessions": {k: round(v / n, 3) for k, v in sorted(self.states.items())},
            "locks_waiting": round(self.blocked / n, 3),
            "waits": {k: round(v / n, 3) for k, v in self.waits.most_common(5)},
            "lock_waits_by_statement": dict(self.blockers.most_common(3)),
        }


def _state(state: str | None, wait_type: str | None) -> str:
    """A session's state as the summary counts it: ``running`` (on a core, or a short
    I/O), ``lock wait`` (queued behind another transaction's row or lock), ``idle in
    transaction`` (waiting on its worker's Python mid-transaction), ``idle``."""
    if state == "active":
        return "lock wait" if wait_type == "Lock" else "running"
    if state and state.startswith("idle in transaction"):
        return "idle in transaction"
    return "idle" if state == "idle" else str(state)
