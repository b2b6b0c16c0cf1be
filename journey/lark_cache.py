"""Where lark keeps a grammar's LALR tables between processes.

Building the tables takes longer than everything else ``journey check`` does on a project,
and the emulated org's SOQL parser is built on every command that reads the org; loading
them takes a few milliseconds. Both parsers (``dsl.parser``, ``emulator.soql``) name their
cache file here.

Lark checks the hash of the grammar, its options, its own version and Python's inside the
file, and builds afresh (and rewrites it) when any differ or the file is unreadable, so a
stale or torn file costs one slow start, never a wrong parser. (A parser generated at
build time would need a build step and a test that it matches the grammar; the cache needs
neither.) The folder is the user's own, not the shared temporary folder lark's
``cache=True`` uses, because the file is a pickle.
"""

from __future__ import annotations

import hashlib

from journey.cache_dir import CACHE_DIR_ENV, cache_folder

__all__ = ["CACHE_DIR_ENV", "cache_file"]


def cache_file(name: str, grammar: str) -> str | bool:
    """The file lark keeps ``grammar``'s tables in (in ``cache_dir.cache_folder``), named
    ``name`` and the grammar's hash (two releases side by side keep one each); ``False``
    where no cache folder can be made, which lark takes as "build every time"."""
    folder = cache_folder()
    if folder is None:
        return False
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return str(folder / f"{name}-{digest}.lark-cache")
