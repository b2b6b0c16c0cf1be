"""How a form post reaches the store: ``engine.intake.submit_form`` off the event loop.

Pipeline position: ``serve.intake`` (async, HTTP) -> **form_writer** -> ``engine.intake``
(sync, SQL). The store is written with blocking calls, so they run in worker threads and
the server keeps answering other posts meanwhile. The answer to a post is sent only after
its transaction committed: a post answered 202/303 is in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from journey.engine.contacts import ContactContext
from journey.engine.intake import submit_form
from journey.engine.store import Store

__all__ = ["FormWriter", "ThreadWriter"]


class FormWriter(Protocol):
    async def submit(
        self, ctx: ContactContext, form: str, email: str, fields: Mapping[str, str]
    ) -> None:
        """Store the post (contact and event) and return once it is committed."""


class ThreadWriter:
    """One transaction per post, each in a thread of Starlette's pool."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def submit(
        self, ctx: ContactContext, form: str, email: str, fields: Mapping[str, str]
    ) -> None:
        await run_in_threadpool(submit_form, self.store, ctx, form, email, fields)
