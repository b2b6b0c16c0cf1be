"""Commands: journey demo — the main job on embedded defaults.

Pipeline position: the README's first command. Today it takes every journey in the
project's ``journeys/`` folder through the language (check and compile) and prints each
one's name, version, triggers and steps; later stages extend ``demo_report`` to run sample
contacts through the engine on the emulated org. Works from a fresh clone: no
``journey.toml`` needed, no credentials, no network.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import app
from cli.language import compile_path
from dsl.formatter import trigger_text
from engine.config import ConfigError, load_config

__all__ = ["demo", "demo_report"]


def demo_report(root: Path) -> list[dict[str, Any]]:
    """One entry per journey file in ``root/journeys``: its name, version, triggers and
    step counts by kind, or its diagnostics when it does not compile."""
    report: list[dict[str, Any]] = []
    for path in sorted((root / "journeys").glob("*.journey")):
        compiled, diagnostics = compile_path(path)
        entry: dict[str, Any] = {
            "path": str(path.relative_to(root)),
            "diagnostics": [d.as_dict() for d in diagnostics],
        }
        if compiled is not None:
            kinds = Counter(step.kind for step in compiled.steps.values() if step.kind != "end")
            entry.update(
                name=compiled.name,
                version=compiled.version,
                triggers=[trigger_text(t) for t in compiled.triggers],
                steps=sum(kinds.values()),
                steps_by_kind=dict(sorted(kinds.items())),
            )
        report.append(entry)
    return report


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Run the example journeys in journeys/ through the pipeline on embedded defaults."""
    try:
        root = load_config(Path.cwd()).root
        report = demo_report(root)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    elif not report:
        typer.echo(f"no journeys in {root / 'journeys'}")
    for entry in [] if as_json else report:
        if "name" not in entry:
            typer.echo(f"{entry['path']}: does not compile")
            for d in entry["diagnostics"]:
                if d["severity"] == "error":
                    typer.echo(f"  {d['line']}:{d['column']}: {d['message']}")
            continue
        kinds = ", ".join(f"{n} {k}" for k, n in entry["steps_by_kind"].items())
        typer.echo(f'{entry["path"]}: "{entry["name"]}" version {entry["version"]}')
        for trigger in entry["triggers"]:
            typer.echo(f"  {trigger}")
        typer.echo(f"  {entry['steps']} steps ({kinds})")
    if not report or any("name" not in e for e in report):
        raise typer.Exit(1)
