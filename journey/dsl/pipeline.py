"""The language's stages wired together: what ``dsl``'s public functions do.

Pipeline position: all of it — text -> syntax tree (``dsl.parser``) -> checked model
(``dsl.checker``) -> compiled graph (``dsl.compiler``), and back to text
(``dsl.formatter``). Each stage stays importable and testable on its own; this module
only decides what is collected and when a stage's failure stops the next one.
"""

from __future__ import annotations

from pathlib import Path

from journey.dsl.checker import check_header, check_journey
from journey.dsl.compiled import CompiledJourney
from journey.dsl.compiler import compile_journey
from journey.dsl.diagnostics import Diagnostic, JourneyError, Schema, sort_diagnostics
from journey.dsl.formatter import format_journey
from journey.dsl.limits import step_count_problem
from journey.dsl.parser import parse_document, split_lines
from journey.dsl.syntax import Journey
from journey.dsl.transformer import assemble

__all__ = ["compile_file", "compile_source", "format_source", "parse", "read_source"]


def _clean(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def parse(text: str, path: str = "<string>") -> Journey:
    """The syntax tree of a journey file. Raises ``JourneyError`` when the text is not the
    language or its header is malformed (order, counts); meaning is not checked here."""
    document = parse_document(text, path)
    lines = split_lines(_clean(text))
    problems = check_header(document, path, lines, require_trigger=False)
    if problems:
        raise JourneyError(sort_diagnostics(problems))
    return assemble(document)


def compile_source(
    text: str, path: str = "<string>", schema: Schema | None = None
) -> tuple[CompiledJourney | None, list[Diagnostic]]:
    """Parse, check and compile; every problem found, in file order. The compiled journey
    is None when any problem is an error (warnings alone still compile)."""
    clean = _clean(text)
    lines = split_lines(clean)
    try:
        document = parse_document(text, path)
    except JourneyError as exc:
        return None, sort_diagnostics(exc.diagnostics)
    problems = check_header(document, path, lines)
    journey = assemble(document)
    too_many = step_count_problem(journey.steps, path, lines)
    if too_many is not None:
        # Compiling thousands of steps that cannot run would only repeat this problem.
        return None, sort_diagnostics([*problems, too_many])
    problems += check_journey(journey, schema, path, lines)
    compiled, graph_problems = compile_journey(journey, text, path, lines)
    problems = sort_diagnostics(problems + graph_problems)
    if any(d.severity == "error" for d in problems):
        return None, problems
    return compiled, problems


def read_source(path: Path) -> tuple[str | None, Diagnostic | None]:
    """A journey file's text, or a diagnostic saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return None, Diagnostic(
            str(path), 1, 1, "error", "is a folder, not a journey file", code="J001"
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, Diagnostic(
            str(path), 1, 1, "error", f"cannot read the file: {reason}", code="J001"
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(
            str(path),
            line,
            column,
            "error",
            "not UTF-8 text: a journey file must be UTF-8",
            "save the file as UTF-8",
            code="J002",
        )


def compile_file(
    path: Path, schema: Schema | None = None
) -> tuple[CompiledJourney | None, list[Diagnostic]]:
    """``compile_source`` on a file; an unreadable file is a diagnostic, not an exception."""
    text, problem = read_source(path)
    if text is None:
        return None, [problem] if problem else []
    return compile_source(text, str(path), schema)


def format_source(text: str, path: str = "<string>") -> str:
    """``text`` in canonical layout (see ``dsl.formatter``). Raises ``JourneyError`` when
    it does not parse; a file with only meaning problems (say, no trigger) still formats."""
    journey = parse(text, path)
    return format_journey(journey, _clean(text))
