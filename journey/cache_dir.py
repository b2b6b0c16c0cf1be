"""Where journey keeps what it can make again but would rather not: its cache folder.

``$JOURNEY_CACHE_DIR``, else the user's cache folder (``$XDG_CACHE_HOME``, else
``~/.cache``) under ``journey``: the user's own, made owner-only, never the shared
temporary folder. It holds the parsers' tables (``lark_cache``) and the store's head
schema (``engine.schema_template``). Anything in it may be deleted at any time; each
user checks what it reads and makes it afresh when it does not fit.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_DIR_ENV", "cache_folder"]

#: The variable that names the cache folder.
CACHE_DIR_ENV = "JOURNEY_CACHE_DIR"


def cache_folder() -> Path | None:
    """The cache folder, made if missing; ``None`` where none can be made."""
    configured = os.environ.get(CACHE_DIR_ENV)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "journey"
    folder = Path(configured) if configured else base
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
