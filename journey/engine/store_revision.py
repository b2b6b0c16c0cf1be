"""Whether a store is at the head revision, told without Alembic.

Pipeline position: ``engine.store.open_store`` -> **store_revision** -> the database.
Every command opens the store, most of them twice (the connector's state and the
project's), and nearly always finds it at the head already. Asking Alembic costs its
import and the parsing of every revision script (a few hundred milliseconds of a
command's start); asking the store costs one ``SELECT``. So the head is read from the
revision files' text — each names its ``revision`` and ``down_revision`` on lines of
their own — and compared with the store's ``alembic_version``. Anything unusual (a file
these lines do not describe, a branch, no ``alembic_version`` table, a revision other
than the head) answers "not known to be at head", and ``engine.migrations`` decides as
before: this module only ever skips an upgrade that would have done nothing.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["VERSIONS", "at_head", "head_of_files"]

#: The revision files (``engine.migrations``).
VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION = re.compile(r'^revision(?:\s*:[^=\n]*)?\s*=\s*"([^"\n]+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:"([^"\n]+)"|(None))\s*$', re.MULTILINE)


@cache
def head_of_files(folder: Path = VERSIONS) -> str | None:
    """The one revision no other names as its ``down_revision``, when the files form a
    single line of revisions each describes plainly; else ``None``."""
    revisions: set[str] = set()
    downs: set[str] = set()
    roots = 0
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(found) != 1 or len(down) != 1:
            return None
        revisions.add(found[0])
        parent, none = down[0]
        if none:
            roots += 1
        else:
            downs.add(parent)
    heads = revisions - downs
    if roots != 1 or len(heads) != 1 or len(downs) != len(revisions) - 1 or downs - revisions:
        return None
    return heads.pop()


def at_head(engine: Engine) -> bool:
    """Whether the store behind ``engine`` is known to be at the head revision (module
    docstring). A store that cannot be reached raises, as opening it would."""
    head = head_of_files()
    if head is None:
        return False
    with engine.connect() as conn:
        try:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            # No such table (a new or pre-Alembic store), on SQLite / on PostgreSQL.
            return False
        conn.commit()  # not a rollback: psycopg would forget its prepared statements
    return [str(row[0]) for row in found] == [head]
