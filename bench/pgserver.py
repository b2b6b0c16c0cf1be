"""A throw-away PostgreSQL server for a bench run, and fresh databases on it.

The benches that measure the PostgreSQL store start their own server (``initdb`` +
``pg_ctl`` into a temporary folder, on loopback, a free port), so a run needs nothing set
up and leaves nothing behind. PostgreSQL refuses to run as root: as root, its commands run
as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Server", "fresh_database", "postgres"]

PG_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in PG_DIRS if (Path(d) / name).exists()), None
    )
    if found is None:
        raise SystemExit(f"PostgreSQL's {name} is not installed: measure SQLite only")
    return found


@dataclass(frozen=True)
class Server:
    """A running server: ``url`` is its base URL, without a database."""

    url: str
    port: int
    data: Path

    @property
    def postmaster(self) -> int:
        """The postmaster's pid (its children are the sessions and the server's workers)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def fresh_database(self, prefix: str = "bench") -> str:
        return fresh_database(self.url, prefix)


def fresh_database(base: str, prefix: str = "bench") -> str:
    """A new empty database on the server at ``base``, so one measurement's rows never slow
    another's; its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@contextmanager
def postgres(*, fsync: bool = True) -> Iterator[Server]:
    """A server for this run, stopped and removed at the end. ``fsync`` on by default: a
    commit costs what it costs on a durable store; off where only the CPU is measured."""
    root = Path(tempfile.mkdtemp(prefix="journey-bench-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}"
    if not fsync:
        options += " -c fsync=off"
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield Server(f"postgresql+psycopg://postgres@127.0.0.1:{port}", port, data)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
