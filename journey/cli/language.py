"""Commands: journey check, fmt and graph — the language's tools for people and CI.

Pipeline position: the thin shell around ``dsl``: find the journey files, find each
one's ``journey.toml`` (upwards from its folder) for the ``Schema``, call the library,
print compiler-style text or ``--json``. Problems in journeys are findings (exit 1, every
one printed); what stops a command — a ``journey.toml`` that cannot be read, a journey
``graph`` cannot compile, a file it cannot write — goes through the one failure path
(``journey.cli.errors``). None of these commands creates a store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track

from journey.cli.app import JsonOpt, app
from journey.cli.errors import ExitCode
from journey.dsl import (
    Diagnostic,
    JourneyError,
    Schema,
    compile_source,
    format_source,
    parse_condition,
)
from journey.dsl.compiled import CompiledJourney
from journey.dsl.draw import to_dot, to_json, to_mermaid
from journey.dsl.pipeline import read_source
from journey.emulator.seed import SeedError, load_seed, seed_names
from journey.engine.config import (
    CONFIG_FILE,
    ConfigError,
    ProjectConfig,
    load_config,
)
from journey.engine.journeys import schema_for

__all__ = [
    "check",
    "compile_path",
    "find_journeys",
    "fmt",
    "graph",
    "load_project",
    "load_schema",
    "schema_for_project",
    "segment_problems",
]

PathsArgument = Annotated[
    list[Path],
    typer.Argument(metavar="PATH", help="Journey files, or folders searched for *.journey."),
]


def schema_for_project(config: ProjectConfig) -> Schema:
    """What ``journey.toml`` declares (``engine.journeys.schema_for``), plus the users and
    campaigns of the org when the project runs on the embedded emulated org with a seed:
    those are known without contacting anything. A real org is not contacted by
    ``check``, so its users and campaigns stay unknown (warnings)."""
    schema = schema_for(config)
    if not config.found or config.salesforce.instance_url or not config.salesforce.seed:
        return schema
    seed_path = Path(config.salesforce.seed)
    try:
        seed = load_seed(seed_path if seed_path.is_absolute() else config.root / seed_path)
    except SeedError as exc:
        raise ConfigError(f"[salesforce] seed: {exc}") from None
    users, campaigns = seed_names(seed)
    return replace(schema, users=users, campaigns=campaigns)


def segment_problems(config: ProjectConfig) -> list[Diagnostic]:
    """``[segments]`` conditions of ``journey.toml`` that are not the journey language,
    placed on the line that names the segment."""
    if not config.found:
        return []
    toml = config.root / CONFIG_FILE
    try:
        lines = toml.read_text(encoding="utf-8").split("\n")
    except OSError:  # pragma: no cover - load_config has just read it
        lines = []
    problems: list[Diagnostic] = []
    for name, condition in config.segments.items():
        try:
            parse_condition(condition, origin=str(toml))
        except JourneyError as exc:
            number = next(
                (
                    i
                    for i, line in enumerate(lines, start=1)
                    if f'"{name}"' in line or line.lstrip().startswith(f"{name} ")
                ),
                1,
            )
            first = exc.diagnostics[0]
            problems.append(
                Diagnostic(
                    str(toml),
                    number,
                    1,
                    "error",
                    f'segment "{name}" is not a condition: {first.message}',
                    first.hint,
                    lines[number - 1] if 0 < number <= len(lines) else None,
                )
            )
    return problems


def load_project(path: Path) -> tuple[Schema, list[Diagnostic]]:
    """The schema of the project ``path`` belongs to, and the problems of its
    ``journey.toml`` segments. Raises ``ConfigError``. (Read afresh for every file: a
    project's file is small, and a cache would outlive an edit in a long test run.)"""
    config = load_config(path)
    return schema_for_project(config), segment_problems(config)


def load_schema(path: Path) -> Schema:
    """The schema of the project ``path`` belongs to. Raises ``ConfigError``."""
    return load_project(path)[0]


def find_journeys(paths: list[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The journey files named or found (recursively) under the folders named."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            try:
                found = sorted(p for p in path.rglob("*.journey") if p.is_file())
            except OSError as exc:
                reason = exc.strerror or str(exc)
                problems.append(Diagnostic(str(path), 1, 1, "error", f"cannot search: {reason}"))
                continue
            if not found:
                problems.append(Diagnostic(str(path), 1, 1, "error", "no *.journey files here"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(Diagnostic(str(path), 1, 1, "error", "no such file or folder"))
    return files, problems


def _progress(files: list[Path], what: str) -> Iterable[Path]:
    """``files``, with a progress bar on the terminal for long runs (none when piped)."""
    console = Console(stderr=True)
    shown = console.is_terminal and len(files) > 50
    return track(files, description=what, console=console, transient=True, disable=not shown)


def _print(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        typer.echo(diagnostic.format())


def compile_path(path: Path) -> tuple[CompiledJourney | None, list[Diagnostic]]:
    """Read, check and compile one file against its project's schema. ``ConfigError``
    propagates (the caller decides the exit code)."""
    text, problem = read_source(path)
    if text is None:
        return None, [problem] if problem else []
    return compile_source(text, str(path), load_schema(path))


@app.command(epilog="Example: journey check journeys/ --strict")
def check(
    paths: PathsArgument,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check journeys: every problem as file:line:col with the line, a caret and a hint."""
    files, diagnostics = find_journeys(paths)
    for path in _progress(files, "Checking"):
        for problem in load_project(path)[1]:
            if problem not in diagnostics:
                diagnostics.append(problem)
        diagnostics.extend(compile_path(path)[1])
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if as_json:
        typer.echo(json.dumps([d.as_dict() for d in diagnostics], indent=2, ensure_ascii=False))
    else:
        _print(diagnostics)
        noun = "journey" if len(files) == 1 else "journeys"
        typer.echo(f"checked {len(files)} {noun}: {errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        raise typer.Exit(ExitCode.PROBLEMS)


@app.command(epilog="Example: journey fmt --check journeys/ (in CI; without --check it rewrites)")
def fmt(
    paths: PathsArgument,
    check_only: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rewrite journeys in the canonical layout (comments kept; meaning never changes)."""
    files, diagnostics = find_journeys(paths)
    changed: list[str] = []
    for path in _progress(files, "Formatting"):
        text, problem = read_source(path)
        if text is None:
            diagnostics.extend([problem] if problem else [])
            continue
        try:
            formatted = format_source(text, str(path))
        except JourneyError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        if formatted != text:
            if not check_only:
                try:
                    path.write_text(formatted, encoding="utf-8")
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    diagnostics.append(
                        Diagnostic(str(path), 1, 1, "error", f"cannot write the file: {reason}")
                    )
                    continue
            changed.append(str(path))
    if as_json:
        report = {
            "changed" if not check_only else "would_change": changed,
            "diagnostics": [d.as_dict() for d in diagnostics],
        }
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(diagnostics)
        for name in changed:
            typer.echo(f"would reformat {name}" if check_only else f"reformatted {name}")
        if not changed and not diagnostics:
            typer.echo(f"{len(files)} journey(s) already formatted")
    if diagnostics or (check_only and changed):
        raise typer.Exit(ExitCode.PROBLEMS)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


@app.command(epilog="Example: journey graph journeys/welcome.journey --format dot -o welcome.dot")
def graph(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The journey file to draw.")],
    format_: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="The drawing's format.")
    ] = GraphFormat.mermaid,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of printing."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Draw a journey's step graph: Mermaid (renders on GitHub), Graphviz DOT or JSON."""
    compiled, diagnostics = compile_path(path)
    if compiled is None:
        raise JourneyError(diagnostics)
    chosen = GraphFormat.json if as_json else format_
    draw = {GraphFormat.mermaid: to_mermaid, GraphFormat.dot: to_dot, GraphFormat.json: to_json}
    text = draw[chosen](compiled)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
