"""Where a project's ``journey.toml`` is: the nearest one in a folder or above it.

Pipeline position: before the configuration is read (``engine.config``). Finding the file
needs no validation, so the commands that only need the project's folder (``journey fmt``
looking for its ``journeys/``) find it without loading the configuration's models.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIG_FILE", "find_config"]

CONFIG_FILE = "journey.toml"


def find_config(start: Path) -> Path | None:
    """The nearest ``journey.toml`` in ``start`` (a folder, or a file's folder) or above."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE
        if path.is_file():
            return path
    return None
