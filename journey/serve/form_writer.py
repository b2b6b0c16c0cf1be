"""How form posts reach the store: written together by a writer thread (group commit).

Pipeline position: ``serve.intake`` (async, HTTP) -> **form_writer** -> on PostgreSQL
``serve.pg_rows.write_forms`` (a batch in two round trips), on SQLite
``engine.intake.submit_forms`` (sync, SQL). A writer thread takes the posts
that arrived while its last transaction was being written, all of them (up to
``max_batch``), into its next one: a post alone is written at once, in a transaction of
its own, and there is never a fixed delay to wait for company; under load a transaction
carries many, so its fixed costs (the commit and its flush, the look-up of known emails,
each round trip) are paid once per batch. A batch's posts are answered with one wake-up
of the event loop.

One thread is the default on both stores. SQLite has one writer at a time, so posts never
queue on its lock. On PostgreSQL ``writers`` threads (each with its own connection) can
write one batch while another waits for its commit, but the batches are then smaller and
every post costs the process more CPU (bench/intake.py --writers 2: 0.51-0.63 ms a post
in the writers against 0.37-0.43 with one, and no more posts a second, on a loaded
machine), and the server's one interpreter is what a busy intake runs out of first. Posts
are shared out by email (any letter case), so every post of one email goes to one thread,
in order: two concurrent transactions never both create a contact for an email, and the
de-duplication a batch does inside itself holds across batches too.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from journey.engine.contacts import ContactContext
from journey.engine.intake import FormSubmission, submit_forms
from journey.engine.store import Store
from journey.serve import pg_rows

__all__ = ["FormWriter"]


@dataclass(frozen=True)
class _Pending:
    submission: FormSubmission
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the client went away; the post was written all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class FormWriter:
    """The store's form writers (module docstring); ``close`` stops their threads."""

    def __init__(
        self,
        store: Store,
        context: Callable[[], ContactContext],
        max_batch: int = 200,
        writers: int = 1,
    ) -> None:
        """``context``: the contacts' context at the moment a batch is written (its clock
        stamps the batch's contacts and events). ``writers``: threads (module docstring),
        one on SQLite whatever is asked."""
        self.store = store
        self.context = context
        self.max_batch = max_batch
        count = 1 if store.is_sqlite else max(1, writers)
        self._queues: list[queue.SimpleQueue[_Pending | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    async def submit(self, form: str, email: str, fields: Mapping[str, str]) -> None:
        """Store the post (contact and event); returns once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._start()
        shard = zlib.crc32(email.casefold().encode()) % len(self._queues)
        pending = _Pending(FormSubmission(form, email, dict(fields)), loop, future)
        self._queues[shard].put(pending)
        await future

    def close(self) -> None:
        """Write what is queued, then stop the threads."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for waiting in self._queues[: len(threads)]:
            waiting.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the form writer is closed")
            if not self._threads:
                for number, waiting in enumerate(self._queues):
                    thread = threading.Thread(
                        target=self._run,
                        args=(waiting,),
                        name=f"journey-form-writer-{number}",
                        daemon=True,
                    )
                    thread.start()
                    self._threads.append(thread)

    def _run(self, waiting: queue.SimpleQueue[_Pending | None]) -> None:
        stop = False
        while not stop:
            first = waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            context = self.context()
            submissions = [p.submission for p in batch]
            if pg_rows.takes(self.store):
                pg_rows.write_forms(self.store, context, submissions)
            else:
                submit_forms(self.store, context, submissions)
        except Exception as exc:
            if len(batch) > 1:
                for pending in batch:  # each alone: only a bad one fails
                    self._write([pending])
                return
            _answer(batch, exc)
            return
        _answer(batch, None)


def _settle_all(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        _settle(future, error)


def _answer(batch: list[_Pending], error: BaseException | None) -> None:
    """Answer the batch's posts: one wake-up of each event loop for all of its posts, not
    one each (each is a write to the loop's self-pipe and a pass of the loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for pending in batch:
        by_loop.setdefault(pending.loop, []).append(pending.future)
    for loop, futures in by_loop.items():
        # A closed loop (the server stopped) has nobody waiting for the answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, futures, error)
