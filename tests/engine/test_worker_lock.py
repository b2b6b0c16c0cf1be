"""The runner lock on each store: a second runner on a SQLite file is refused at once with the
way to scale out (PostgreSQL); on PostgreSQL there is none, every runner claims its runs.
And the file lock is released however its process ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from journey.engine.locks import FileLock, InUseError, RunnerLock


def test_a_second_runner_on_a_sqlite_store_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = RunnerLock(url)
    assert first.acquire("worker")
    with pytest.raises(InUseError) as refused:
        RunnerLock(url).acquire("run")
    assert f"the store {tmp_path / 'state.db'} is in use by a running journey worker" in str(
        refused.value
    )
    assert "PostgreSQL" in refused.value.hint
    first.release()
    again = RunnerLock(url)
    assert again.acquire("run")  # released: the next one gets it
    again.release()


def test_memory_stores_need_no_lock() -> None:
    assert RunnerLock("sqlite://").acquire("run")
    assert RunnerLock("sqlite:///:memory:").acquire("run")


@pytest.mark.postgres
def test_on_postgresql_runners_take_no_lock(postgres_url: str) -> None:
    """Many workers work one PostgreSQL store at once: each claims its runs instead."""
    first, second = RunnerLock(postgres_url), RunnerLock(postgres_url)
    assert first.acquire("worker")
    assert second.acquire("worker")
    assert RunnerLock(postgres_url).acquire("run")
    first.release()
    second.release()


def test_a_file_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "org" / "process.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from journey.engine.locks import FileLock;"
            f"assert FileLock(Path({str(path)!r})).try_acquire('worker');"
            "print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        lock = FileLock(path)
        assert not lock.try_acquire("run")
        assert lock.holder() == (holder.pid, "worker")
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert lock.try_acquire("run")  # kill -9 released it: nothing stale to clean
    lock.release()
