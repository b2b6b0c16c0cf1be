"""Diagnostics: what went wrong in a journey file, and where.

Pipeline position: produced by every stage of the language (the parser for syntax, the
checker for meaning, the compiler for the shape of the step graph) and printed by the CLI
compiler-style (``file:line:col: error: ...``). Problems are collected, not raised at the
first, so one ``journey check`` shows everything; ``JourneyError`` carries the list when an
API must raise (``parse``, ``parse_condition``, ``format_source``).

``Schema`` is what the checker knows about the world outside the file (declared fields,
groups, segments; the users, queues, campaigns, statuses and fields of the connected org, as
the embedded org's seed or the last ``journey salesforce refresh`` gives them). A kind of
name the schema does not know (``None``) is only a warning, so a journey file checks on its
own, outside any project. A ``note`` is neither: it informs (how old the org's cache is)
and never fails a check.

Every diagnostic carries a stable ``code`` (``J101``; the scheme and each code's
explanation are in docs/diagnostics.md: ``J0xx`` files, ``J1xx`` syntax and the header's
shape, ``J2xx`` names the project or the file declares, ``J3xx`` types and values, ``J4xx``
the org's names and what only Salesforce changes, ``J5xx`` the step graph, ``J6xx``
journey.toml) and an end (``end_line``/``end_column``, exclusive, on the same scale as
``line``/``column``), so an editor underlines the offending words and CI annotates them.
A code names the kind of problem, not its severity: an unknown field is ``J201`` whether
the project declares fields (an error) or not (a warning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from journey.dsl.syntax import Span

__all__ = [
    "CODES_PAGE",
    "Diagnostic",
    "JourneyError",
    "SalesforceField",
    "Schema",
    "Severity",
    "at",
    "at_span",
    "help_url",
    "sort_diagnostics",
]

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem: 1-based ``line``/``column`` in ``path`` up to ``end_line``/
    ``end_column`` (exclusive); ``hint`` says what to do; ``source_line`` is the line's
    text, for the caret display; ``code`` is the stable name of the kind of problem.

    An end left at 0 (a problem with the file as a whole) becomes one character past the
    start, so every diagnostic has a range an editor can show."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str
    hint: str | None = None
    source_line: str | None = None
    code: str = ""
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if (self.end_line, self.end_column) <= (self.line, self.column):
            # frozen: the one place the end is settled, before anyone reads it
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_column", self.column + 1)

    def format(self) -> str:
        """Compiler-style text: location line (the code last, as mypy puts it), source
        line, carets under the offending words, hint."""
        code = f"  [{self.code}]" if self.code else ""
        out = [f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}{code}"]
        if self.source_line is not None:
            shown = self.source_line.expandtabs(1)
            out.append(f"    {shown}")
            last = self.end_column if self.end_line == self.line else len(shown) + 1
            width = max(min(last, len(shown) + 1) - self.column, 1)
            out.append("    " + " " * max(self.column - 1, 0) + "^" * width)
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape printed by ``journey check --json``."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "source_line": self.source_line,
        }


class JourneyError(Exception):
    """A journey cannot be parsed (or a condition, or a file formatted); ``diagnostics``
    says every place why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = diagnostics[0] if diagnostics else None
        text = (
            f"{first.path}:{first.line}:{first.column}: {first.message}"
            if first
            else "invalid journey"
        )
        super().__init__(text)


@dataclass(frozen=True)
class SalesforceField:
    """A field of a Salesforce object, as its describe gives it: a journey names it by API
    name or label; ``writable``: updateable and not a formula."""

    name: str
    label: str
    writable: bool = True


@dataclass(frozen=True)
class Schema:
    """Names the checker can verify. ``None`` means "not known": unknown names of that kind
    are warnings rather than errors.

    ``fields`` maps a field name to ``"Text"|"Number"|"Date"|"True/False"``.
    ``standard_fields`` (same shape) are the fields every project has; when ``fields`` is
    None they still give types and keep well-known names from being warned about.
    """

    fields: Mapping[str, str] | None = None
    groups: frozenset[str] | None = None
    segments: frozenset[str] | None = None
    users: frozenset[str] | None = None
    campaigns: frozenset[str] | None = None
    standard_fields: Mapping[str, str] | None = None
    #: Fields only Salesforce writes (inbound-only mappings): a journey's write is an error.
    inbound_fields: frozenset[str] = frozenset()
    #: Names of the org's inactive users (email, username, name, ID): naming one is an
    #: error wherever ``users`` is known (``users`` holds the active ones).
    inactive_users: frozenset[str] = frozenset()
    #: Names, emails and IDs of the org's queues (a Lead may be assigned to one).
    queues: frozenset[str] | None = None
    #: Campaign name -> its member statuses, when the org's are known.
    member_statuses: Mapping[str, frozenset[str]] | None = None
    #: The org's lead statuses (labels and API names).
    lead_statuses: frozenset[str] | None = None
    #: Object (``Lead``, ``Contact``, ...) -> its fields, for the objects described.
    salesforce_fields: Mapping[str, tuple[SalesforceField, ...]] | None = None


#: The page that explains every code; each code is a heading there (``#j101``).
CODES_PAGE = "https://github.com/journey-engine/journey/blob/main/docs/diagnostics.md"


def help_url(code: str) -> str:
    """Where ``code`` is explained, for an editor's link or a CI annotation's help."""
    return f"{CODES_PAGE}#{code.lower()}"


def at_span(
    path: str,
    lines: list[str],
    span: Span,
    severity: Severity,
    message: str,
    hint: str | None = None,
    *,
    code: str,
) -> Diagnostic:
    """A diagnostic over ``span``, with its source line looked up. A span over several
    lines (a block: ``split``, ``if``) is cut at the end of its first line: the block's
    head is what is wrong, and underlining the whole block would hide the rest."""
    end_line, end_column = span.end_line, span.end_column
    if end_line > span.line:
        source = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
        end_line, end_column = span.line, len(_code_of(source)) + 1
    return at(
        path,
        lines,
        span.line,
        span.column,
        severity,
        message,
        hint,
        code=code,
        end=(end_line, end_column),
    )


def at(
    path: str,
    lines: list[str],
    line: int,
    column: int,
    severity: Severity,
    message: str,
    hint: str | None = None,
    *,
    code: str,
    end: tuple[int, int] | None = None,
) -> Diagnostic:
    """A diagnostic at ``line``/``column`` (1-based), with its source line looked up;
    without ``end``, it covers the word that starts there."""
    source = lines[line - 1] if 0 < line <= len(lines) else None
    line, column = max(line, 1), max(column, 1)
    if end is None:
        end = (line, column + _word_length(source or "", column))
    return Diagnostic(path, line, column, severity, message, hint, source, code, *end)


def _code_of(source: str) -> str:
    """A line without its trailing comment and spaces (a ``#`` inside a string stays)."""
    in_string = escaped = False
    for index, char in enumerate(source):
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
        elif char == "#" and not in_string:
            return source[:index].rstrip()
    return source.rstrip()


def _word_length(source: str, column: int) -> int:
    """How many characters the word (or quoted string) at ``column`` takes; at least 1."""
    rest = source[column - 1 :]
    if rest.startswith('"'):
        close = rest.find('"', 1)
        while close > 0 and rest[close - 1] == "\\":
            close = rest.find('"', close + 1)
        return close + 1 if close > 0 else len(rest.rstrip()) or 1
    length = 0
    for char in rest:
        if char.isspace() or (length and not (char.isalnum() or char in "_-")):
            break
        length += 1
    return max(length, 1)


def sort_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """File order, errors before warnings (and notes) at one place; duplicates dropped."""
    unique = list(dict.fromkeys(diagnostics))
    rank = {"error": 0, "warning": 1, "note": 2}
    return sorted(unique, key=lambda d: (d.path, d.line, d.column, rank[d.severity]))
