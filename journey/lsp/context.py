"""Where the cursor stands in a journey line: inside which string, naming what.

Pipeline position: read by completion, hover and go to definition, on the text as it is
being typed. A line being typed is rarely a statement yet (``assign lead to "`` does not
parse), so this reads the line's words rather than the syntax tree: the words before a
string say what the string names, as they do in ``journey.lark`` (``assign lead to
group "…"`` names a group, ``in list "…"`` a list). Columns here are 0-based characters
(code points); the server turns them into the editor's units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Kind", "StringAt", "code_end", "label_at", "string_at", "strings", "unquote"]

#: What a string names. ``owner``: a user or a queue (a Lead's owner); ``email``: where a
#: notification goes; ``template``: a ``{{Field}}`` placeholder inside any string.
Kind = Literal[
    "field",
    "salesforce field",
    "list",
    "segment",
    "group",
    "user",
    "owner",
    "email",
    "campaign",
    "member status",
    "lead status",
    "form",
    "template",
]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?$)')
_Q = r'"((?:[^"\\]|\\.)*)"'

#: The words before a string -> what it names; the first rule that matches wins, so the
#: longer phrases come first. Matched in any case, a space standing for any spaces.
_WORDS_BEFORE: tuple[tuple[str, Kind], ...] = (
    (r"assign lead to group", "group"),
    (r"assign lead to", "owner"),
    (r"assigned to", "user"),
    (r"campaign member status changed " + _Q + " to", "member status"),
    (r"campaign member status changed", "campaign"),
    (r"campaign member status in " + _Q + " is", "member status"),
    (r"campaign member status in", "campaign"),
    (r"in campaign", "campaign"),
    (r"set member status", "member status"),
    (r'field changed "lead status" to', "lead status"),
    (r'field "lead status" is( not)?', "lead status"),
    (r'update (salesforce )?field "lead status" to', "lead status"),
    (r"(^|\s)lead status", "lead status"),
    (r"update salesforce field", "salesforce field"),
    (r"(^|\s)(field changed|update field|field)", "field"),
    (r"(added to list|add to list|remove from list|in list)", "list"),
    (r"(entered segment|in segment)", "segment"),
    (r"form submitted", "form"),
    (r"send notification " + _Q + " to", "email"),
)
_RULES = tuple(
    (re.compile(pattern.replace(" ", r"\s+") + "$", re.IGNORECASE), kind)
    for pattern, kind in _WORDS_BEFORE
)


def unquote(body: str) -> str:
    """A string's text as the journey means it (``\\"`` is a quote, ``\\\\`` a backslash)."""
    return re.sub(r'\\(["\\])', r"\1", body)


@dataclass(frozen=True)
class StringAt:
    """A string of a line: its kind, its text, and where it stands."""

    kind: Kind | None
    #: The text between the quotes (unescaped); up to the line's end when left open.
    value: str
    #: Column of the opening quote, and just past the closing one (the line's end if open).
    start: int
    end: int
    closed: bool
    #: For a member status: the campaign the line names (its statuses are per campaign).
    campaign: str | None = None


def code_end(line: str) -> int:
    """Where the line's code ends: at its ``#`` comment (a ``#`` inside a string is text),
    else at its end."""
    position = 0
    while position < len(line):
        if line[position] == "#":
            return position
        if line[position] == '"':
            match = _STRING.match(line, position)
            position = match.end() if match else len(line)
            continue
        position += 1
    return len(line)


def strings(line: str) -> list[StringAt]:
    """Every string of ``line`` (up to a comment), each with what it names."""
    found: list[StringAt] = []
    position = 0
    while position < len(line):
        char = line[position]
        if char == "#":
            break
        if char != '"':
            position += 1
            continue
        match = _STRING.match(line, position)
        end = match.end() if match else len(line)
        text = line[position:end]
        closed = len(text) > 1 and text.endswith('"') and not text.endswith('\\"')
        body = text[1:-1] if closed else text[1:]
        found.append(_classify(line, position, end, unquote(body), closed))
        position = end
    return found


def _classify(line: str, start: int, end: int, value: str, closed: bool) -> StringAt:
    before = line[:start].rstrip()
    for pattern, kind in _RULES:
        match = pattern.search(before)
        if match is None:
            continue
        campaign = None
        if kind == "member status":
            named = match.groups()[0] if match.groups() else None
            if named is None:  # set member status "S" in campaign "C": the campaign follows
                after = re.search(r"in\s+campaign\s+" + _Q, line[end:], re.IGNORECASE)
                named = after.group(1) if after else None
            campaign = unquote(named) if named else None
        return StringAt(kind, value, start, end, closed, campaign)
    return StringAt(None, value, start, end, closed)


def string_at(line: str, column: int) -> StringAt | None:
    """The string the cursor at ``column`` stands in (between its quotes, or at its end
    when it is still open), else None. Inside a ``{{`` not yet closed it is a template."""
    for found in strings(line):
        inside = found.start < column < found.end or (not found.closed and column == found.end)
        if not inside:
            continue
        typed = line[found.start + 1 : column]
        opened = typed.rfind("{{")
        if opened >= 0 and "}}" not in typed[opened:]:
            return StringAt("template", typed[opened + 2 :], found.start, found.end, found.closed)
        return found
    return None


_LABEL_LINE = re.compile(r"^(\s*)(step|go\s+to)(\s+)([A-Za-z_][A-Za-z0-9_-]*)", re.IGNORECASE)


def label_at(line: str, column: int) -> tuple[str, str, int, int] | None:
    """The step name under the cursor on a ``step NAME`` or ``go to NAME`` line: (``step``
    or ``go to``, the name, its start and end column)."""
    match = _LABEL_LINE.match(line)
    if match is None or not match.start(4) <= column <= match.end(4):
        return None
    word = "step" if match.group(2).lower() == "step" else "go to"
    return word, match.group(4), match.start(4), match.end(4)
