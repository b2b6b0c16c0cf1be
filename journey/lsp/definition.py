"""Go to definition: where a name used in a journey is defined.

Pipeline position: the editor server's definition request. A step name after ``go to``
is defined by its ``step`` label in the same file; a segment, a group and a declared
field by their key in ``journey.toml`` (``[segments]``, ``[groups]``, ``[fields]``, or
the ``[sync.fields.*]`` mapping of a synced field). Everything else — users, campaigns,
statuses — lives in Salesforce, which is no place to jump to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from journey.engine.config import SYNC_OBJECTS
from journey.lsp.completion import labels_of
from journey.lsp.context import label_at, string_at
from journey.lsp.project import Project, toml_line

__all__ = ["Definition", "definition"]


@dataclass(frozen=True)
class Definition:
    """A place: ``path`` None for the document itself; 0-based line and columns."""

    path: Path | None
    line: int
    start: int
    end: int


def _label(lines: list[str], name: str) -> Definition | None:
    for number, found in labels_of(lines):
        if found == name:
            start = lines[number].index(name, lines[number].lower().index("step") + 4)
            return Definition(None, number, start, start + len(name))
    return None


def _in_toml(project: Project, tables: list[str], name: str) -> Definition | None:
    toml = project.toml
    if toml is None:
        return None
    for table in tables:
        found = toml_line(toml, table, name)
        if found is not None:
            return Definition(toml, *found)
    return None


def definition(
    project: Project, lines: list[str], line_number: int, column: int
) -> Definition | None:
    """Where the name at ``column`` of line ``line_number`` (0-based) is defined."""
    line = lines[line_number] if line_number < len(lines) else ""
    label = label_at(line, column)
    if label is not None:
        return _label(lines, label[1])
    at = string_at(line, column)
    if at is None or not at.closed:
        return None
    if at.kind == "segment":
        return _in_toml(project, ["segments"], at.value)
    if at.kind == "group":
        return _in_toml(project, ["groups"], at.value)
    if at.kind in ("field", "salesforce field"):
        return _in_toml(project, ["fields", *(f"sync.fields.{o}" for o in SYNC_OBJECTS)], at.value)
    return None
