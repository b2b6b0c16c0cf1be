"""Process locks: one process holds the embedded org, one runner works a SQLite store.

Pipeline position: under the commands that act — ``connectors.factory`` takes the org lock
when it starts the embedded org (``journey run``, ``worker``, ``sync``, ``salesforce
renew``), and ``journey run`` / ``journey worker`` take the runner lock on the store
before their first pass. Commands that only touch the store (``event``, ``contacts
import``, ``status``, ``retry``) take neither, so they keep working while a worker runs.

Why a lock and not care: the embedded org is served from ``.journey/emulator/`` by the
process that opens it; two such processes would race each other's Salesforce work on one
org file. And runs are not claimed on a SQLite store: two runners would take the same due
runs.

``FileLock`` is an OS lock (``fcntl.flock``) on a file: the kernel releases it when the
process exits, however it exits (``kill -9`` included), so a crash never leaves a stale
lock to clean by hand. The file holds the holder's pid and command, read only to name
them in the refusal. On PostgreSQL, ``RunnerLock`` is a session advisory lock
(``pg_try_advisory_lock``): runs are not claimed one by one, so one runner works the store
at a time; a second worker waits on the lock and takes over when the first stops, and
``journey run`` does not wait, it is refused, naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

__all__ = ["FileLock", "InUseError", "RunnerLock", "command_name"]

#: The advisory lock key of the runner on a PostgreSQL store (any fixed 64-bit number:
#: "journey" in ASCII).
RUNNER_LOCK_KEY = 0x6A6F75726E6579
#: Seconds between two tries of a waiting runner (it stops waiting at once when told to).
WAIT_POLL = 1.0


class InUseError(Exception):
    """What a process needs is held by another one: ``message`` names it and its pid,
    ``hint`` says what to do (exit 2: the command could not start)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def command_name() -> str:
    """``worker``, ``run``, ... for the lock file: the subcommand of the ``journey`` command
    this process runs (the program's name when it is not ``journey``)."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program in ("journey", "__main__.py") and len(sys.argv) > 1:
        return sys.argv[1]
    return program or "python"


def holder_words(command: str | None) -> str:
    if command == "worker":
        return "a running journey worker"
    return f"`journey {command}`" if command else "another process"


class FileLock:
    """An exclusive ``flock`` on ``path`` (module docstring), taken without waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def holder(self) -> tuple[int | None, str | None]:
        """The pid and command written by the process holding the lock (best effort)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return None, None
        pid, command = data.get("pid"), data.get("command")
        return (pid if isinstance(pid, int) else None), (
            command if isinstance(command, str) else None
        )

    def try_acquire(self, command: str) -> bool:
        """Take the lock (writing who holds it); ``False`` when another process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command}).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> FileLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store URL; ``None`` for memory or another database."""
    if not url.startswith("sqlite:"):
        return None
    path = url.removeprefix("sqlite:").removeprefix("///").removeprefix("//")
    return None if path in ("", ":memory:") else Path(path)


class RunnerLock:
    """The right to advance runs on a store: one process per SQLite file (refused otherwise);
    on PostgreSQL one at a time, the next waiting its turn (module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        path = _sqlite_path(url)
        self._store_file = path
        self._file = FileLock(path.with_name(path.name + ".runner.lock")) if path else None
        self._conn: sa.Connection | None = None

    def acquire(
        self,
        command: str,
        stop: threading.Event | None = None,
        waiting: Callable[[str], None] | None = None,
        *,
        wait: bool = True,
    ) -> bool:
        """Take the lock. SQLite: raises ``InUseError`` when another process holds it.
        PostgreSQL: waits (calling ``waiting`` once, with who holds it) until it is free, or
        until ``stop`` is set (then ``False``); without ``wait``, raises ``InUseError``
        instead. Other databases (memory) need no lock."""
        if self._file is not None:
            if self._file.try_acquire(command):
                return True
            pid, holder = self._file.holder()
            raise InUseError(
                f"the store {self._store_file} is in use by "
                f"{holder_words(holder)} (pid {pid or '?'}): one process works the runs of a "
                "SQLite store",
                "stop the other process first; to run several workers, put the store on "
                'PostgreSQL: [store] url = "postgresql+psycopg://…" (docs/configuration.md)',
            )
        if not self.url.startswith("postgresql"):
            return True
        # Its own connection, outside the store's pool: the lock lives as long as it. Its
        # application_name is how another process learns who holds the lock.
        self._engine = sa.create_engine(
            self.url,
            poolclass=sa.pool.NullPool,
            connect_args={"application_name": f"journey {command} (pid {os.getpid()})"},
        )
        conn = self._engine.connect()
        told = False
        try:
            while not self._try(conn):
                if not wait:
                    holder = self._holder(conn)
                    raise InUseError(
                        f"the store's runs are being worked by {holder}; one process at a "
                        "time works them",
                        "a running worker already processes what is due; stop it to run "
                        "this command by hand",
                    )
                if not told and waiting is not None:
                    waiting(self._holder(conn))
                    told = True
                if (stop or threading.Event()).wait(WAIT_POLL):
                    self._close(conn)
                    return False
        except BaseException:
            self._close(conn)
            raise
        self._conn = conn
        return True

    @staticmethod
    def _holder(conn: sa.Connection) -> str:
        """Who holds the advisory lock: its session's application_name (a bigint key is
        split into ``classid``, the high half, and ``objid``, the low half)."""
        found = conn.execute(
            sa.text(
                "SELECT a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
            ),
            {"hi": RUNNER_LOCK_KEY >> 32, "lo": RUNNER_LOCK_KEY & 0xFFFFFFFF},
        ).scalar()
        conn.commit()
        name = str(found or "")
        return f"`{name}`" if name.startswith("journey ") else "another process"

    @staticmethod
    def _try(conn: sa.Connection) -> bool:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUNNER_LOCK_KEY})
        taken = bool(got.scalar())
        conn.commit()
        return taken

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUNNER_LOCK_KEY})
                conn.commit()
            finally:
                self._close(conn)  # the session ending releases it in any case

    def _close(self, conn: sa.Connection) -> None:
        conn.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
