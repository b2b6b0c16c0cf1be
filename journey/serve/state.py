"""What the running server holds: the project opened once, its journeys kept current.

Pipeline position: ``engine.project`` -> **state** -> every page. The server opens the
project's store with the journaling connector (it performs nothing: the pages look, and
the one change they make, a retry, touches only the store). A worker elsewhere publishes
journey edits; the server recompiles ``journeys/`` when a file there changes, without
publishing anything itself, so it can run beside any number of workers.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from journey.connectors.recording import JournalingConnector
from journey.engine.config import ProjectConfig
from journey.engine.journeys import Catalog, load_catalog
from journey.engine.project import Project, journey_files_signature, open_project
from journey.engine.store import Store

__all__ = ["ServeState"]


class ServeState:
    """The project behind the pages (module docstring); thread-safe for Starlette's
    thread pool."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._files = journey_files_signature(project.config)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, root: Path | None = None) -> ServeState:
        """The project found from ``root`` (default: the current folder)."""
        return cls(open_project(root, connector=JournalingConnector(keep_log=False), now=None))

    @property
    def config(self) -> ProjectConfig:
        return self.project.config

    @property
    def store(self) -> Store:
        return self.project.store

    def catalog(self) -> Catalog:
        """The published journeys, recompiled when a file in ``journeys/`` changed (a file
        that stops compiling keeps its last good version, as in the worker)."""
        with self._lock:
            current = journey_files_signature(self.config)
            if current != self._files:
                self.project.catalog = load_catalog(
                    self.config, self.store, previous=self.project.catalog, strict=False
                )
                self._files = current
            return self.project.catalog

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def close(self) -> None:
        self.project.close()
