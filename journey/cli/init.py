"""Commands: journey init — a new project to start from.

Pipeline position: the thin shell around ``engine.scaffold``: it names the folder, calls
``scaffold`` and prints what was written (or ``--json``). The project runs as written: on
the embedded emulated org, its one journey passing ``journey check``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import fail
from journey.engine.scaffold import ScaffoldError, scaffold

__all__ = ["init"]


@app.command(
    "init",
    epilog="Example: journey init acme (then: cd acme && journey check journeys/)",
)
def init(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="The project's folder (made if missing).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace files the project would write.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a new project: journey.toml, journeys/welcome.journey, a seed for the
    embedded emulated org and a .gitignore for .journey/."""
    try:
        written = scaffold(folder, force=force)
    except ScaffoldError as error:
        fail(str(error), "file", hint="--force replaces them")
    except OSError as error:
        fail(f"cannot write: {error.strerror or error}", "file", where=str(folder))
    if as_json:
        typer.echo(json.dumps({"folder": str(folder), "written": [str(path) for path in written]}))
        return
    for path in written:
        typer.echo(f"wrote {folder / path}")
    where = "" if folder == Path(".") else f"cd {folder} && "
    typer.echo(f"Next: {where}journey check journeys/")
