"""Where a project's ``journey.toml`` is (the nearest one in a folder or above it), and the
names of its sections that need no validation.

Pipeline position: before the configuration is read (``engine.config``). Finding the file
needs no validation, so the commands that only need the project's folder (``journey fmt``
looking for its ``journeys/``) find it without loading the configuration's models.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CONFIG_FILE", "DEFAULT_STORE_URL", "SYNC_OBJECTS", "find_config", "store_url"]

CONFIG_FILE = "journey.toml"

#: The objects the sync knows, in the order a cycle reads them (a Lead's conversion is
#: seen before the Contact it became; Accounts before the contacts that show their fields).
#: Here, with the file's name, for the modules that need these names but not the models.
SYNC_OBJECTS = ("Account", "Lead", "Contact", "CampaignMember")


#: ``[store] url`` when journey.toml names none: a SQLite file in the project's state folder.
DEFAULT_STORE_URL = "sqlite:///.journey/state.db"


def store_url(root: Path, configured: str) -> str:
    """The store URL: ``JOURNEY_DATABASE_URL`` wins, then ``[store] url`` (``configured``);
    a relative SQLite path is taken relative to the project root."""
    url = os.environ.get("JOURNEY_DATABASE_URL") or configured
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:":
            return prefix + str((root / rest).resolve())
    return url


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


def seed_path(root: Path, seed: str | None) -> Path | None:
    """``[salesforce] seed``, a relative path taken relative to the project root."""
    if not seed:
        return None
    path = Path(seed)
    return path if path.is_absolute() else root / path


def state_dir(root: Path) -> Path:
    """``.journey/`` under the project root: store, emulator state, outbox."""
    return root / ".journey"


def embedded_org_dir(root: Path) -> Path:
    """``.journey/emulator/``: where the embedded emulated org keeps its state."""
    return state_dir(root) / "emulator"
