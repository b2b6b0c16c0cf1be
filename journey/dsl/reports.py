"""Reports of diagnostics for machines that show them on code: GitHub and SARIF.

Pipeline position: diagnostics (``dsl.diagnostics``) -> **reports** -> ``journey check
--format github|sarif``. Text and JSON are the diagnostics' own (``Diagnostic.format``,
``as_dict``); these two are what a CI service reads to put a finding on the line of a pull
request:

* ``github`` — GitHub Actions workflow commands, one line per finding
  (``::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message``; the columns
  only for a finding on one line, as annotations take them), escaped as the
  Actions toolkit escapes them (``escapeData``/``escapeProperty`` in
  ``actions/toolkit``'s ``packages/core/src/command.ts``: ``%``, CR and LF in the message;
  also ``:`` and ``,`` in properties).
* ``sarif`` — one SARIF 2.1.0 log (OASIS, ``https://docs.oasis-open.org/sarif/sarif/v2.1.0/``)
  for code scanning: a rule per diagnostic code, a result per finding, its artifact's URI
  relative to the repository root.

Where a finding is, and under which code, is read in one place (``span_of``), so every
format places a finding the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from journey.dsl.diagnostics import CODES_PAGE, Diagnostic, help_url

__all__ = [
    "SARIF_SCHEMA",
    "FindingSpan",
    "github_report",
    "repository_root",
    "sarif_report",
    "span_of",
]

#: The schema a SARIF 2.1.0 log names (its ``$schema``): the OASIS standard, errata 01.
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

_GITHUB_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


@dataclass(frozen=True)
class FindingSpan:
    """Where a finding starts and ends (1-based; the end column is the last one it covers)
    and the stable code of its rule."""

    code: str
    line: int
    column: int
    end_line: int
    end_column: int


def span_of(diagnostic: Diagnostic) -> FindingSpan:
    """The code and extent of a diagnostic, its last column *included* (a diagnostic's own
    ``end_column`` is one past its end, as editors count). One that carries no code is
    filed under its severity's rule (``journey-error``…)."""
    code = diagnostic.code or f"journey-{diagnostic.severity}"
    end_line, end_column = diagnostic.end_line, diagnostic.end_column - 1
    if (end_line, end_column) < (diagnostic.line, diagnostic.column):
        end_line, end_column = diagnostic.line, diagnostic.column
    return FindingSpan(code, diagnostic.line, diagnostic.column, end_line, end_column)


def repository_root(start: Path | None = None) -> Path:
    """The git work tree ``start`` (default: the current folder) is in — the folder that
    holds ``.git`` (a folder, or a worktree's file) — or ``start`` when it is in none.
    Found without running git, so a report costs no process."""
    origin = (start or Path.cwd()).resolve()
    for folder in (origin, *origin.parents):
        if (folder / ".git").exists():
            return folder
    return origin


def _relative(path: str, root: Path) -> str:
    """``path`` as the repository names it (POSIX, from the root); a path outside the
    repository stays absolute."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return resolved.as_posix()


def _message(diagnostic: Diagnostic) -> str:
    return diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_report(diagnostics: list[Diagnostic], root: Path | None = None) -> str:
    """GitHub Actions workflow commands: an annotation per diagnostic, on the file and the
    lines it covers (paths from ``root``, the repository root by default)."""
    base = root or repository_root()
    lines = []
    for diagnostic in diagnostics:
        span = span_of(diagnostic)
        properties: dict[str, object] = {
            "file": _relative(diagnostic.path, base),
            "line": span.line,
            "col": span.column,
            "endLine": span.end_line,
            "endColumn": span.end_column,
            "title": f"journey check {span.code}",
        }
        if span.end_line != span.line:
            # Columns only place an annotation on one line (the check runs API refuses
            # start and end columns across lines).
            del properties["col"], properties["endColumn"]
        joined = ",".join(f"{k}={_escape_property(str(v))}" for k, v in properties.items())
        command = _GITHUB_COMMAND[diagnostic.severity]
        lines.append(f"::{command} {joined}::{_escape_data(_message(diagnostic))}")
    return "".join(f"{line}\n" for line in lines)


def _rule(code: str, severity: str) -> dict[str, object]:
    return {
        "id": code,
        "shortDescription": {"text": f"journey check {severity}"},
        "defaultConfiguration": {"level": severity},
        "helpUri": help_url(code) if code.startswith("J") else CODES_PAGE,
    }


def sarif_report(
    diagnostics: list[Diagnostic], root: Path | None = None, tool_version: str | None = None
) -> str:
    """One SARIF 2.1.0 log of ``journey check``'s findings (artifact URIs from ``root``,
    the repository root by default; ``tool_version``: journey's, which the dsl does not
    import), as JSON text."""
    base = root or repository_root()
    rules: dict[str, dict[str, object]] = {}
    results = []
    for diagnostic in diagnostics:
        span = span_of(diagnostic)
        rules.setdefault(span.code, _rule(span.code, diagnostic.severity))
        region: dict[str, object] = {
            "startLine": span.line,
            "startColumn": span.column,
            "endLine": span.end_line,
            # SARIF's endColumn is the column after the last character covered.
            "endColumn": span.end_column + 1,
        }
        if diagnostic.source_line is not None and span.line == span.end_line:
            region["snippet"] = {"text": diagnostic.source_line}
        location = {
            "physicalLocation": {
                "artifactLocation": {"uri": quote(_relative(diagnostic.path, base))},
                "region": region,
            }
        }
        results.append(
            {
                "ruleId": span.code,
                "ruleIndex": list(rules).index(span.code),
                "level": diagnostic.severity,
                "message": {"text": _message(diagnostic)},
                "locations": [location],
            }
        )
    driver: dict[str, object] = {
        "name": "journey",
        "informationUri": "https://github.com/journey-engine/journey",
        "rules": list(rules.values()),
    }
    if tool_version:
        driver["version"] = tool_version
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
