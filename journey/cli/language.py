"""Commands: journey check, fmt and graph — the language's tools for people and CI.

Pipeline position: the thin shell around ``dsl``: find the journey files, find each
one's ``journey.toml`` (upwards from its folder) for the ``Schema`` — with the org's
names from the embedded org's seed or the cache ``journey salesforce refresh`` wrote
(``engine.org_cache``; ``check`` never calls Salesforce) — call the library, print
compiler-style text or ``--json``. Problems in journeys are findings (exit 1, every
one printed); what stops a command — a ``journey.toml`` that cannot be read, a journey
``graph`` cannot compile, a file it cannot write — goes through the one failure path
(``journey.cli.errors``). None of these commands creates a store.

The configuration and the org's names are imported by the functions that read them:
``journey fmt`` needs neither, and starts without them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import ExitCode, fail
from journey.dsl import (
    Diagnostic,
    JourneyError,
    Schema,
    compile_source,
    format_source,
    parse_condition,
)
from journey.dsl.pipeline import read_source
from journey.engine.config_file import find_config

if TYPE_CHECKING:
    from journey.dsl.compiled import CompiledJourney
    from journey.engine.config import ProjectConfig
    from journey.engine.org_cache import OrgCatalog

__all__ = [
    "CheckFormat",
    "check",
    "compile_path",
    "default_paths",
    "find_journeys",
    "fmt",
    "graph",
    "load_project",
    "load_schema",
    "project_catalog",
    "read_config",
    "schema_for_project",
    "segment_problems",
]

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH",
        help="Journey files, or folders searched for *.journey (default: the project's journeys/).",
        show_default=False,
    ),
]


def default_paths(paths: list[Path] | None) -> list[Path]:
    """The paths named, or the ``journeys/`` folder of the project the current folder is
    in (found as every command finds it: the nearest ``journey.toml`` upwards)."""
    if paths:
        return paths
    config = find_config(Path.cwd())
    if config is None:
        fail(
            "no journey.toml in this folder or above, so no journeys/ to look in",
            hint="name the journey files or folders, or run this inside a project",
        )
    folder = config.parent / "journeys"
    cwd = Path.cwd().resolve()
    return [folder.relative_to(cwd) if folder.is_relative_to(cwd) else folder]


def project_catalog(config: ProjectConfig, now: datetime) -> tuple[OrgCatalog | None, str]:
    """What the project knows of its org without contacting it, and why not when nothing:
    the embedded org's seed, or the cache of a configured org (the same org: a cache read
    from another ``instance_url`` than the one configured is not this org's; an OAuth
    connection learns its instance from the token, so its cache is taken as it is)."""
    from journey.engine.org_cache import OrgCacheError, load_cached

    if not config.found:
        return None, ""
    url = config.salesforce.instance_url
    if not config.salesforce.remote:
        from journey.connectors.salesforce.org_catalog import seed_catalog
        from journey.emulator.seed import SeedError, load_seed

        if config.seed_path is None:
            return None, ""
        try:
            return seed_catalog(load_seed(config.seed_path), now), ""
        except SeedError as exc:
            from journey.engine.config import ConfigError

            raise ConfigError(f"[salesforce] seed: {exc}") from None
    try:
        catalog = load_cached(config.state_dir)
    except OrgCacheError as exc:
        from journey.engine.config import ConfigError

        raise ConfigError(f"{exc}: run `journey salesforce refresh` to read it again") from None
    if catalog is not None and url and catalog.instance_url.rstrip("/") != url.rstrip("/"):
        return None, catalog.instance_url
    return catalog, ""


def schema_for_project(config: ProjectConfig, now: datetime | None = None) -> Schema:
    """What ``journey.toml`` declares (``engine.journeys.schema_for``), plus what the org
    holds when that is known without contacting it (``project_catalog``): its users
    (inactive ones apart), queues, campaigns and statuses, lead statuses and fields.
    Otherwise those stay unknown (warnings)."""
    from journey.engine.journeys import schema_for
    from journey.engine.org_cache import org_schema

    schema = schema_for(config)
    catalog = project_catalog(config, now or datetime.now(UTC))[0]
    return schema if catalog is None else org_schema(schema, catalog)


def cache_problems(config: ProjectConfig, now: datetime) -> list[Diagnostic]:
    """The one line about a configured org's cache: how old it is (a warning once it is
    stale), or that it was read from another org."""
    from journey.engine.org_cache import age_diagnostic, cache_path

    if not config.found or not config.salesforce.remote:
        return []
    catalog, other = project_catalog(config, now)
    path = str(cache_path(config.state_dir))
    if other:
        message = f"the org's cache was read from {other}, not {config.salesforce.instance_url}"
        hint = "run `journey salesforce refresh` to read this org"
        return [Diagnostic(path, 1, 1, "warning", message, hint, code="J421")]
    return [] if catalog is None else [age_diagnostic(config.state_dir, catalog, now)]


def segment_problems(config: ProjectConfig) -> list[Diagnostic]:
    """``[segments]`` conditions of ``journey.toml`` that are not the journey language,
    placed on the line that names the segment."""
    from journey.engine.org_checks import toml_lines

    if not config.found:
        return []
    toml, lines = toml_lines(config)
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
                    code="J601",
                )
            )
    return problems


def load_project(path: Path, now: datetime | None = None) -> tuple[Schema, list[Diagnostic]]:
    """The schema of the project ``path`` belongs to, and the problems of its
    ``journey.toml`` (segments, groups' users, synced fields; the org cache's age).
    Raises ``ConfigError``. (Read afresh on every call: a cache kept longer than one command
    would outlive an edit in an editor session or a long test run; ``check`` shares it
    among one command's files.)"""
    from journey.engine.org_checks import toml_org_problems

    config = read_config(path)
    moment = now or datetime.now(UTC)
    schema = schema_for_project(config, moment)
    problems = segment_problems(config) + toml_org_problems(config, schema)
    return schema, problems + cache_problems(config, moment)


def load_schema(path: Path) -> Schema:
    """The schema of the project ``path`` belongs to. Raises ``ConfigError``."""
    return schema_for_project(read_config(path))


def read_config(path: Path) -> ProjectConfig:
    """The project's configuration as ``check`` reads it: a file ``engine.config_view``
    vouches for without loading the configuration's models (the same values, for what
    ``check`` reads), any other through ``load_config``. Raises ``ConfigError``."""
    from journey.engine.config_view import read_view

    view = read_view(path)
    if view is not None:
        return cast("ProjectConfig", view)
    from journey.engine.config import load_config

    return load_config(path)


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
                problems.append(
                    Diagnostic(str(path), 1, 1, "error", f"cannot search: {reason}", code="J003")
                )
                continue
            if not found:
                problems.append(
                    Diagnostic(str(path), 1, 1, "error", "no *.journey files here", code="J003")
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(
                Diagnostic(str(path), 1, 1, "error", "no such file or folder", code="J003")
            )
    return files, problems


def _progress(files: list[Path], what: str) -> Iterable[Path]:
    """``files``, with a progress bar on the terminal for long runs (none when piped)."""
    if len(files) <= 50:
        return files
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    shown = console.is_terminal
    return track(files, description=what, console=console, transient=True, disable=not shown)


def _print(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        typer.echo(diagnostic.format())


def compile_path(
    path: Path, schema: Schema | None = None
) -> tuple[CompiledJourney | None, list[Diagnostic]]:
    """Read, check and compile one file against its project's schema (``schema`` when the
    caller has it already). ``ConfigError`` propagates (the caller decides the exit code)."""
    text, problem = read_source(path)
    if text is None:
        return None, [problem] if problem else []
    return compile_source(text, str(path), load_schema(path) if schema is None else schema)


def _projects(now: datetime) -> Callable[[Path], tuple[Schema, list[Diagnostic]]]:
    """``load_project`` for the files of one command: the files of one project share its
    schema, built once (building it reads the seed or the org's cache, the largest cost of
    a check); a project is known by its ``journey.toml``, as every command finds it."""
    known: dict[Path, tuple[Schema, list[Diagnostic]]] = {}

    def project_of(path: Path) -> tuple[Schema, list[Diagnostic]]:
        key = find_config(path) or path.resolve().parent
        if key not in known:
            known[key] = load_project(path, now)
        return known[key]

    return project_of


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


@app.command(epilog="Example: journey check --strict (in CI: journey check --format github)")
def check(
    paths: PathsArgument = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    format_: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            help="text for people, json for programs, github for Actions annotations, "
            "sarif for code scanning.",
        ),
    ] = CheckFormat.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Check journeys: every problem as file:line:col with the line, a caret and a hint."""
    files, diagnostics = find_journeys(default_paths(paths))
    project_of = _projects(datetime.now(UTC))
    for path in _progress(files, "Checking"):
        schema, problems = project_of(path)
        for problem in problems:
            if problem not in diagnostics:
                diagnostics.append(problem)
        diagnostics.extend(compile_path(path, schema)[1])
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    chosen = CheckFormat.json if as_json else format_
    noun = "journey" if len(files) == 1 else "journeys"
    summary = f"checked {len(files)} {noun}: {errors} error(s), {warnings} warning(s)"
    if chosen is CheckFormat.json:
        typer.echo(json.dumps([d.as_dict() for d in diagnostics], indent=2, ensure_ascii=False))
    elif chosen is CheckFormat.text:
        _print(diagnostics)
        typer.echo(summary)
    else:
        # The report alone on stdout, for the service that reads it; people read stderr.
        from journey import __version__
        from journey.dsl.reports import github_report, sarif_report

        if chosen is CheckFormat.github:
            typer.echo(github_report(diagnostics), nl=False)
        else:
            typer.echo(sarif_report(diagnostics, tool_version=__version__), nl=False)
        typer.echo(summary, err=True)
    if errors or (strict and warnings):
        raise typer.Exit(ExitCode.PROBLEMS)


@app.command(epilog="Example: journey fmt --check --diff (in CI; without --check it rewrites)")
def fmt(
    paths: PathsArgument = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    show_diff: Annotated[
        bool,
        typer.Option("--diff", help="Print what would change as a unified diff (implies --check)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rewrite journeys in the canonical layout (comments kept; meaning never changes)."""
    files, diagnostics = find_journeys(default_paths(paths))
    check_only = check_only or show_diff
    changed: list[str] = []
    diffs: dict[str, str] = {}
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
            if show_diff:
                diffs[str(path)] = _unified_diff(str(path), text, formatted)
            if not check_only:
                try:
                    path.write_text(formatted, encoding="utf-8")
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    diagnostics.append(
                        Diagnostic(
                            str(path),
                            1,
                            1,
                            "error",
                            f"cannot write the file: {reason}",
                            code="J004",
                        )
                    )
                    continue
            changed.append(str(path))
    if as_json:
        report = {
            "changed" if not check_only else "would_change": changed,
            "diagnostics": [d.as_dict() for d in diagnostics],
        }
        if show_diff:
            report["diffs"] = diffs
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(diagnostics)
        # With --diff, stdout is the patch alone (``patch -p0`` applies it); the names go to
        # stderr.
        for text in diffs.values():
            typer.echo(text, nl=False)
        for name in changed:
            line = f"would reformat {name}" if check_only else f"reformatted {name}"
            typer.echo(line, err=show_diff)
        if not changed and not diagnostics:
            typer.echo(f"{len(files)} journey(s) already formatted")
    if diagnostics or (check_only and changed):
        raise typer.Exit(ExitCode.PROBLEMS)


def _unified_diff(name: str, before: str, after: str) -> str:
    """What formatting changes in a file, as a unified diff naming it on both sides."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), name, name
    )
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


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
    from journey.dsl.draw import to_dot, to_json, to_mermaid

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
