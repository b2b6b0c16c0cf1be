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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from journey.dsl.syntax import Span

__all__ = [
    "Diagnostic",
    "JourneyError",
    "SalesforceField",
    "Schema",
    "Severity",
    "at_span",
    "sort_diagnostics",
]

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem: 1-based ``line``/``column`` in ``path``; ``hint`` says what to do;
    ``source_line`` is the line's text, for the caret display."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str
    hint: str | None = None
    source_line: str | None = None

    def format(self) -> str:
        """Compiler-style text: location line, source line, caret, hint."""
        out = [f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"]
        if self.source_line is not None:
            shown = self.source_line.expandtabs(1)
            out.append(f"    {shown}")
            out.append("    " + " " * max(self.column - 1, 0) + "^")
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape printed by ``journey check --json``."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
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


def at_span(
    path: str,
    lines: list[str],
    span: Span,
    severity: Severity,
    message: str,
    hint: str | None = None,
) -> Diagnostic:
    """A diagnostic at the start of ``span``, with its source line looked up."""
    return at(path, lines, span.line, span.column, severity, message, hint)


def at(
    path: str,
    lines: list[str],
    line: int,
    column: int,
    severity: Severity,
    message: str,
    hint: str | None = None,
) -> Diagnostic:
    """A diagnostic at ``line``/``column`` (1-based), with its source line looked up."""
    source = lines[line - 1] if 0 < line <= len(lines) else None
    return Diagnostic(path, max(line, 1), max(column, 1), severity, message, hint, source)


def sort_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """File order, errors before warnings (and notes) at one place; duplicates dropped."""
    unique = list(dict.fromkeys(diagnostics))
    rank = {"error": 0, "warning": 1, "note": 2}
    return sorted(unique, key=lambda d: (d.path, d.line, d.column, rank[d.severity]))
