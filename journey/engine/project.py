"""A project opened for running: config, store, published journeys, segments, connector.

Pipeline position: CLI -> **project** -> (intake, runner, status). It is the one place
that turns ``journey.toml`` into live objects, so every command and test opens a project
the same way. Segments (``[segments]``) are parsed with the language's own condition
parser; a bad one is a clear ``ConfigError`` naming the segment.

Without a connector given, the project's connector is the journaling connector (it
performs nothing and knows no Salesforce rule), its journal at ``.journey/recorder.db``:
commands that only take contacts in or look never act on Salesforce. Opening a
project creates its store; commands that only look ask ``store_exists`` first, so looking
at a fresh folder leaves it as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from journey.connectors.base import Connector
from journey.connectors.recording import JournalingConnector
from journey.engine.conditions import Evaluator
from journey.engine.config import ProjectConfig, load_config
from journey.engine.contacts import ContactContext
from journey.engine.intake_project import contact_context
from journey.engine.journeys import Catalog, journey_files, load_catalog
from journey.engine.runner import Runner
from journey.engine.segments import segments_of
from journey.engine.store import Store, open_store

__all__ = ["Project", "journey_files_signature", "open_project", "segments_of", "store_exists"]


@dataclass
class Project:
    config: ProjectConfig
    store: Store
    catalog: Catalog
    evaluator: Evaluator
    connector: Connector
    files: tuple[tuple[str, int, int], ...] = ()

    def reload_journeys(self, now: datetime) -> bool:
        """Recompile the published journeys if a file in ``journeys/`` changed, so a
        long-running worker publishes edits without a restart; True when it looked again.
        Running runs stay on their versions (moving them is ``journey publish --migrate``,
        never a worker's). Each file stands alone, so one bad file never
        stops the others: a file that does not load keeps its last good version (or stays
        out), and its errors are in ``catalog.problems`` for the caller to report (the
        paths kept at their last version in ``catalog.kept``). Never raises for what a
        journey file holds."""
        current = journey_files_signature(self.config)
        if current == self.files:
            return False
        catalog = load_catalog(self.config, self.store, previous=self.catalog, strict=False)
        catalog.publish(now)
        self.catalog, self.files = catalog, current
        return True

    @property
    def field_types(self) -> dict[str, str]:
        return dict(self.config.all_fields())

    def context(self, now: datetime) -> ContactContext:
        return contact_context(self.config, self.evaluator, now)

    def runner(self, batch_size: int = 1000, worker_id: str | None = None) -> Runner:
        return Runner(
            self.store,
            self.catalog,
            self.connector,
            self.evaluator,
            self.field_types,
            batch_size=batch_size,
            sync=self.config.sync,
            worker_id=worker_id,
        )

    def close(self) -> None:
        close = getattr(self.connector, "close", None)
        if callable(close):
            close()
        self.store.close()


def journey_files_signature(config: ProjectConfig) -> tuple[tuple[str, int, int], ...]:
    """Each journey file's path, modification time and size: what changes when an edit
    lands, so a long-running process knows to recompile without reading every file."""
    out = []
    for path in journey_files(config):
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def store_exists(config: ProjectConfig) -> bool:
    """Whether the project's store has been made. A SQLite store is a file that exists (or
    memory); any other database lives on its server, which holds it."""
    url = config.store_url
    if not url.startswith("sqlite:"):
        return True
    path = url.removeprefix("sqlite:").removeprefix("///").removeprefix("//")
    return path in ("", ":memory:") or Path(path).is_file()


def open_project(
    start: Path | None = None,
    *,
    connector: Connector | None = None,
    with_journeys: bool = True,
    now: datetime | None = None,
) -> Project:
    """Open the project found from ``start`` (default: the current folder)."""
    config = load_config(start)
    evaluator = Evaluator(segments_of(config), config.all_fields())
    store = open_store(config.store_url)
    try:
        catalog = load_catalog(config, store) if with_journeys else Catalog(store=store)
        if now is not None:
            catalog.publish(now)
    except Exception:
        store.close()
        raise
    if connector is None:
        connector = JournalingConnector(journal=config.state_dir / "recorder.db")
    files = journey_files_signature(config) if with_journeys else ()
    return Project(config, store, catalog, evaluator, connector, files)
