"""Completion: what may be written at the cursor, from what the project knows.

Pipeline position: the editor server's completion (``lsp.server`` turns these candidates
into the protocol's items). Inside a string, the words before it say what it names
(``lsp.context``), and the names come from where the checker takes them (``lsp.project``):
fields from journey.toml and the standard fields; groups and segments from journey.toml;
users, queues, campaigns and their member statuses and lead statuses from the embedded
org's seed or the org's cache; lists and forms from the project's journeys. Outside a
string: the statements' opening words (``dsl.hints.PHRASES``) at a line's start, the
condition words after ``if``/``when``/``and``…, the tests a field's type allows after
``field "F"``, units after a number, and the step names after ``go to``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from journey.dsl.hints import PHRASES, opening_phrase
from journey.lsp.context import Kind, StringAt, code_end, string_at, strings
from journey.lsp.project import Project

__all__ = ["Candidate", "complete", "labels_of"]

#: How an editor shows a candidate (``lsp.server`` maps these to the protocol's kinds).
Sort = Literal["keyword", "field", "value", "user", "reference", "unit"]


@dataclass(frozen=True)
class Candidate:
    """One completion: ``text`` replaces the line from column ``start`` to the cursor."""

    label: str
    text: str
    start: int
    sort: Sort
    detail: str = ""


_CONDITIONS = (
    'field "',
    'in list "',
    'in segment "',
    "is salesforce lead",
    "is salesforce contact",
    'campaign member status in "',
    "not ",
)
_TESTS = {
    "Text": ("is", "is not", "is empty", "is not empty", "contains", "starts with"),
    "Number": (">", ">=", "<", "<=", "is empty", "is not empty"),
    "Date": (">", ">=", "<", "<=", "is empty", "is not empty"),
    "True/False": ("is true", "is false", "is empty", "is not empty"),
}
_UNITS = ("minutes", "hours", "days", "weeks")
_HEADER = frozenset({"journey", "trigger", "entry", "goal"})
_ASSIGN = ("keep current assignment", 'lead source "', 'lead status "')
#: What may follow an action's string (``journey.lark``'s options), by its opening words.
_OPTIONS: dict[str, tuple[str, ...]] = {
    "assign lead to": _ASSIGN,
    "assign lead to group": _ASSIGN,
    "add task": ("due in", "assigned to lead owner", 'assigned to "', 'priority "'),
    "create opportunity": ('stage "', "amount", "close in"),
    "send notification": ('to "', "also to lead owner"),
    "update field": ('to "',),
    "update salesforce field": ('to "',),
    "set member status": ('in campaign "',),
    "trigger field changed": ('to "',),
    "trigger campaign member status changed": ('to "',),
}
#: After a closed string (or an option's number and unit): the words being typed.
_AFTER_STRING = re.compile(r'(?:"|\d\s+days?|\bassignment|\bowner)\s+([a-z ]*)$', re.IGNORECASE)
_AFTER_CONDITION = re.compile(
    r"(?:^|\s|\()(?:if|else\s+if|when|until|and|or|not)\s+([a-z]*)$|\(([a-z]*)$", re.IGNORECASE
)
_GO_TO = re.compile(r"^\s*go\s+to\s+([A-Za-z0-9_-]*)$", re.IGNORECASE)
_OPENING = re.compile(r"^(\s*)([A-Za-z][A-Za-z ]*)?$")
_NUMBER_UNIT = re.compile(r"(?:^\s*wait|for\s+at\s+most)\s+\d+\s+([a-z]*)$", re.IGNORECASE)
_WRITES = re.compile(r"\b(?:update|salesforce)\s*$", re.IGNORECASE)
_STEP_LINE = re.compile(r"^\s*step\s+([A-Za-z_][A-Za-z0-9_-]*)\s*(?:#.*)?$", re.IGNORECASE)


def labels_of(lines: Iterable[str]) -> list[tuple[int, str]]:
    """The ``step NAME`` labels of a text being typed: (0-based line, name), in order."""
    found = []
    for number, line in enumerate(lines):
        match = _STEP_LINE.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def _statement_of(line: str) -> str:
    """The statement phrase ``line`` opens (the longest that fits), else ""."""
    words = opening_phrase(line)
    fits = [p for p in PHRASES if words == p or words.startswith(p + " ")]
    return max(fits, key=len, default="")


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _names(project: Project, kind: Kind, at: StringAt, lines: list[str]) -> list[tuple[str, str]]:
    """(name, detail) of every name of ``kind`` the project knows."""
    schema, catalog = project.schema, project.catalog
    if kind in ("field", "template"):
        return [(f.name, f"{f.type} · {f.source}") for f in project.fields.values()]
    if kind == "salesforce field":
        described = schema.salesforce_fields or {}
        return [
            (f.name, f"{sobject} · {f.label}" + ("" if f.writable else " · read-only"))
            for sobject in ("Lead", "Contact")
            for f in described.get(sobject, ())
        ] + [(f.name, f"{f.type} · {f.source}") for f in project.fields.values()]
    if kind == "group":
        return [(g, ", ".join(m)) for g, m in project.config.groups.items()]
    if kind == "segment":
        return list(project.config.segments.items())
    if kind == "list":
        here = [s.value for line in lines for s in strings(line) if s.kind == "list" and s.closed]
        return [(name, "list") for name in dict.fromkeys([*project.lists, *here])]
    if kind == "form":
        here = [s.value for line in lines for s in strings(line) if s.kind == "form" and s.closed]
        return [(name, "form") for name in dict.fromkeys([*project.forms, *here])]
    if catalog is None:
        return []
    if kind in ("user", "owner", "email"):
        users = [(u.email or u.username, u.name) for u in catalog.users if u.active]
        if kind == "owner":
            users += [(q.name, "queue") for q in catalog.queues]
        return users
    if kind == "campaign":
        return [(c.name, ", ".join(c.statuses)) for c in catalog.campaigns]
    if kind == "member status":
        wanted = (at.campaign or "").casefold()
        found = [c for c in catalog.campaigns if not wanted or c.name.casefold() == wanted]
        return [(s, c.name) for c in found for s in c.statuses]
    if kind == "lead status":
        return [
            (s.label, "converted" if s.converted else "lead status") for s in catalog.lead_statuses
        ]
    return []


def _in_string(
    project: Project, at: StringAt, line: str, column: int, lines: list[str]
) -> list[Candidate]:
    if at.kind is None:
        return []
    if at.kind == "template":
        start = column - len(at.value)
        rest = line[column:]
        close = "" if rest.startswith("}}") else "}}"
        return [
            Candidate(name, name + close, start, "field", detail)
            for name, detail in _names(project, "field", at, lines)
        ]
    start = at.start + 1
    close = "" if at.closed else '"'
    sort: Sort = "field" if at.kind in ("field", "salesforce field") else "value"
    if at.kind in ("user", "owner", "email"):
        sort = "user"
    unique = dict(_names(project, at.kind, at, lines))
    return [Candidate(n, _quoted(n) + close, start, sort, d) for n, d in unique.items()]


def _field_type(project: Project, name: str) -> str | None:
    known = project.fields.get(name.casefold())
    return known.type if known else None


def complete(project: Project, lines: list[str], line_number: int, column: int) -> list[Candidate]:
    """What may be written at ``column`` of line ``line_number`` (both 0-based)."""
    line = lines[line_number] if line_number < len(lines) else ""
    at = string_at(line, column)
    if at is not None:
        return _in_string(project, at, line, column, lines)
    prefix = line[:column]
    if code_end(line) < column:
        return []  # in a comment
    if go_to := _GO_TO.match(prefix):
        start = column - len(go_to.group(1))
        names = [name for _, name in labels_of(lines)]
        return [Candidate(n, n, start, "reference", "step") for n in [*dict.fromkeys(names), "end"]]
    if unit := _NUMBER_UNIT.search(prefix):
        return [Candidate(u, u, column - len(unit.group(1)), "unit") for u in _UNITS]
    field_test = re.search(r'field\s+"((?:[^"\\]|\\.)*)"\s+([a-z ]*)$', prefix, re.IGNORECASE)
    writes = field_test and _WRITES.search(prefix[: field_test.start()])
    if field_test and not writes:
        kind = _field_type(project, field_test.group(1)) or "Text"
        start = column - len(field_test.group(2))
        return [Candidate(t, t, start, "keyword", kind) for t in _TESTS.get(kind, _TESTS["Text"])]
    phrase = _statement_of(line)
    after = _AFTER_STRING.search(prefix)
    if after and phrase in _OPTIONS and not _AFTER_CONDITION.search(prefix):
        start = column - len(after.group(1))
        given = " ".join(prefix[prefix.index('"') :].lower().split())
        words = {o: o.rstrip(' "') for o in _OPTIONS[phrase]}
        left = [o for o, w in words.items() if " " + w + " " not in given + " "]
        return [Candidate(words[o], o, start, "keyword", phrase) for o in left]
    if condition := _AFTER_CONDITION.search(prefix):
        typed = condition.group(1) if condition.group(1) is not None else condition.group(2)
        start = column - len(typed or "")
        return [Candidate(c.rstrip(' "'), c, start, "keyword", "condition") for c in _CONDITIONS]
    if opening := _OPENING.match(prefix):
        start = len(opening.group(1))
        # The header's statements stand at the top level only.
        shown = [p for p in PHRASES if not (start and p.split()[0] in _HEADER)]
        return [Candidate(p, p, start, "keyword", "statement") for p in shown]
    return []
