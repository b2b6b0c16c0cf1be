"""Process locks: one process holds the embedded org, one runner works a SQLite store.

Pipeline position: under the commands that act — ``connectors.factory`` takes the org lock
when it starts the embedded org (``journey run``, ``worker``, ``sync``, ``salesforce
renew``), and ``journey run`` / ``journey worker`` take the runner lock on a SQLite store
before their first pass. Commands that only touch the store (``event``, ``contacts
import``, ``status``, ``retry``) take neither, so they keep working while a worker runs.

Why a lock and not care: the embedded org is served from ``.journey/emulator/`` by the
process that opens it; two such processes would race each other's Salesforce work on one
org file. And a SQLite store has one writer at a time and no row claims that skip what
another holds: two runners would take the same due runs. So SQLite stays single-worker,
and the refusal names PostgreSQL as the way to scale.

On PostgreSQL there is no runner lock: any number of ``journey worker`` processes, on any
number of machines, work one store at once, each claiming its runs (``engine.claims``:
``FOR UPDATE SKIP LOCKED`` and leases). ``journey run`` on PostgreSQL is one more runner
beside them, claiming like they do, so running it by hand beside a fleet is safe.
Singleton work (the sync) is led by one worker at a time (``engine.leadership``).

``FileLock`` is an OS lock (``fcntl.flock``) on a file: the kernel releases it when the
process exits, however it exits (``kill -9`` included), so a crash never leaves a stale
lock to clean by hand. The file holds the holder's pid and command, read only to name
them in the refusal.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from types import TracebackType

__all__ = ["FileLock", "InUseError", "RunnerLock", "command_name"]


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
    """The right to advance runs on a SQLite store: one process per file, the others
    refused with the way to scale (PostgreSQL). Other stores need no lock (module
    docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        path = _sqlite_path(url)
        self._store_file = path
        self._file = FileLock(path.with_name(path.name + ".runner.lock")) if path else None

    def acquire(self, command: str) -> bool:
        """Take the lock; ``InUseError`` when another process holds it."""
        if self._file is None or self._file.try_acquire(command):
            return True
        pid, holder = self._file.holder()
        raise InUseError(
            f"the store {self._store_file} is in use by "
            f"{holder_words(holder)} (pid {pid or '?'}): one process works the runs of a "
            "SQLite store",
            "stop the other process first; to run several workers, put the store on "
            'PostgreSQL: [store] url = "postgresql+psycopg://…" (docs/deployment.md)',
        )

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
