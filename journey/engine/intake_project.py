"""A project opened to take contacts in: its configuration, its store and its contact rules.

Pipeline position: CLI (``journey contacts import``) -> **intake_project** -> store, and
the ``ContactContext`` the importer merges with. ``engine.project`` opens a project for
running — it compiles the journeys and loads the runner and the connectors — which an
import needs none of: what it writes (contacts, lists, the events journeys wait for)
depends only on ``journey.toml``'s fields, segments and sync settings. Opening only those
keeps the command's start-up to the store and the importer, and leaves the published
journeys as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from journey.engine.conditions import Evaluator
from journey.engine.config_view import read_view
from journey.engine.contacts import ContactContext
from journey.engine.segments import segments_of
from journey.engine.store import Store, open_store
from journey.engine.sync.mapping import inbound_only_fields

if TYPE_CHECKING:
    from journey.engine.config import ProjectConfig

__all__ = ["IntakeProject", "contact_context", "open_intake"]


@dataclass
class IntakeProject:
    config: ProjectConfig
    store: Store
    evaluator: Evaluator

    def context(self, now: datetime) -> ContactContext:
        return contact_context(self.config, self.evaluator, now)


def contact_context(config: ProjectConfig, evaluator: Evaluator, now: datetime) -> ContactContext:
    """The rules a contact is written by, for an import and a run alike: the fields'
    types, the segments, and the fields the sync owns (which only Salesforce writes)."""
    fields = dict(config.all_fields())
    return ContactContext(
        fields, evaluator, now, inbound_only=inbound_only_fields(config.sync, fields)
    )


@contextmanager
def open_intake(start: Path | None = None) -> Iterator[IntakeProject]:
    """The project found from ``start`` (default: the current folder), its store made if
    new, closed on leaving. Its ``journey.toml`` is read as ``journey check`` reads it
    (``engine.config_view``, no Pydantic models) when it can be: an import reads only
    its fields, segments, sync mappings and store."""
    view = read_view(start)
    if view is not None:
        config = cast("ProjectConfig", view)
    else:
        from journey.engine.config import load_config

        config = load_config(start)
    evaluator = Evaluator(segments_of(config), config.all_fields())
    store = open_store(config.store_url)
    try:
        yield IntakeProject(config, store, evaluator)
    finally:
        store.close()
