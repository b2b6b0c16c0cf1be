"""How form posts reach the store: written together by one thread (group commit).

Pipeline position: ``serve.intake`` (async, HTTP) -> **form_writer** ->
``engine.intake.submit_forms`` (sync, SQL). One writer thread owns the store's writes:
posts that arrive while a transaction is being written wait for the next one, which takes
them all (up to ``max_batch``). A post alone is written at once, in a transaction of its
own; under load a transaction carries many, so its fixed costs (the commit, the look-up of
known emails, each statement's round trip) are paid once per batch, not once per post,
and posts never queue on the database's lock (SQLite has one writer at a time).

A post is answered only after the transaction holding it committed, so a post answered
202/303 is in the store, and one the process died before answering was never
acknowledged. A batch that fails is written again post by post, so one bad post fails
alone and the others are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from journey.engine.contacts import ContactContext
from journey.engine.intake import FormSubmission, submit_forms
from journey.engine.store import Store

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
    """The store's one form writer (module docstring); ``close`` stops its thread."""

    def __init__(
        self, store: Store, context: Callable[[], ContactContext], max_batch: int = 200
    ) -> None:
        """``context``: the contacts' context at the moment a batch is written (its clock
        stamps the batch's contacts and events)."""
        self.store = store
        self.context = context
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def submit(self, form: str, email: str, fields: Mapping[str, str]) -> None:
        """Store the post (contact and event); returns once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._start()
        self._queue.put(_Pending(FormSubmission(form, email, dict(fields)), loop, future))
        await future

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the form writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="journey-form-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            submit_forms(self.store, self.context(), [p.submission for p in batch])
        except Exception as exc:
            if len(batch) > 1:
                for pending in batch:  # each alone: only a bad one fails
                    self._write([pending])
                return
            _answer(batch[0], exc)
            return
        for pending in batch:
            _answer(pending, None)


def _answer(pending: _Pending, error: BaseException | None) -> None:
    # A closed loop (the server stopped) has nobody waiting for the answer.
    with contextlib.suppress(RuntimeError):
        pending.loop.call_soon_threadsafe(_settle, pending.future, error)
