"""The runner lock on each store: a second runner on a SQLite file is refused at once with the
way to scale out (PostgreSQL); on PostgreSQL it waits its turn and takes over when the first
lets go, or gives up when told to stop. And the file lock is released however its process
ends. Joins and waits have upper bounds that only guard against hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from journey.engine.locks import FileLock, InUseError, RunnerLock

BOUND = 30.0


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
def test_on_postgresql_the_second_runner_waits_then_takes_over(postgres_url: str) -> None:
    first = RunnerLock(postgres_url)
    assert first.acquire("worker")
    second = RunnerLock(postgres_url)
    told = threading.Event()
    got: list[bool] = []
    holders: list[str] = []

    def waiting(holder: str) -> None:
        holders.append(holder)
        told.set()

    waiter = threading.Thread(target=lambda: got.append(second.acquire("worker", None, waiting)))
    waiter.start()
    assert told.wait(BOUND)  # it said it is waiting, and it is still waiting
    assert waiter.is_alive()
    assert holders == [f"`journey worker (pid {os.getpid()})`"]
    # `journey run` does not wait: it is refused, naming the holder.
    with pytest.raises(InUseError) as refused:
        RunnerLock(postgres_url).acquire("run", wait=False)
    assert f"worked by `journey worker (pid {os.getpid()})`" in str(refused.value)
    first.release()
    waiter.join(BOUND)
    assert got == [True]
    second.release()


@pytest.mark.postgres
def test_on_postgresql_a_waiting_runner_gives_up_when_told_to_stop(postgres_url: str) -> None:
    first = RunnerLock(postgres_url)
    assert first.acquire("worker")
    stop = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(
        target=lambda: got.append(
            RunnerLock(postgres_url).acquire("worker", stop, lambda _holder: stop.set())
        )
    )
    waiter.start()  # ``waiting`` sets stop: it gives up at its next look
    waiter.join(BOUND)
    assert got == [False]
    first.release()


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
