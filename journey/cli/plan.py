"""Commands: journey plan and journey publish — what an edit of live journeys does to the
contacts inside them, before and when it is published.

Pipeline position: the thin shell around ``engine.plan``: find the project, open its store
when there is one (``plan`` never creates it), call the library, print text, ``--json``
or ``--markdown`` (for a pull request comment). ``publish --migrate`` holds the store's
runner lock while it moves runs, as ``journey run`` does while it advances them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import fail

__all__ = ["plan", "publish"]

_NO_PROJECT = "no journey.toml in this folder or above"
_PROJECT_HINT = "run this inside a project (journey init makes one)"


@app.command(epilog="Example: journey plan --base origin/main --markdown")
def plan(
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REV",
            help="Compare with the journeys at this git revision instead of the versions "
            "published in the store.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="Print Markdown, for a pull request comment.")
    ] = False,
) -> None:
    """What publishing the journeys would change, and what happens to the runs in flight."""
    from journey.engine.config import load_config
    from journey.engine.plan import PlanError, make_plan
    from journey.engine.plan.render import markdown, text
    from journey.engine.project import store_exists
    from journey.engine.store import open_store

    config = load_config()
    if not config.found:
        fail(_NO_PROJECT, "config", hint=_PROJECT_HINT)
    store = open_store(config.store_url) if store_exists(config) else None
    try:
        found = make_plan(config, store, base)
    except PlanError as exc:
        fail(str(exc), "input", hint="--base takes any revision git names (a branch, a tag)")
    finally:
        if store is not None:
            store.close()
    if as_json:
        typer.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
    elif as_markdown:
        typer.echo(markdown(found, Path.cwd()), nl=False)
    else:
        typer.echo(text(found, Path.cwd()), nl=False)


@app.command(epilog="Example: journey plan, then: journey publish --migrate")
def publish(
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="Move in-flight runs to the step of the same label in the new version.",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO-TIME",
            help="Act as if it were this ISO date-time (default: the clock).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the journeys as `journey plan` shows (--migrate moves runs in flight)."""
    from journey.cli.runs import parse_moment
    from journey.engine.config import load_config
    from journey.engine.locks import RunnerLock, command_name
    from journey.engine.plan.migrate import publish as publish_plan
    from journey.engine.plan.migrate import refuse_beside_workers
    from journey.engine.plan.render import text
    from journey.engine.store import open_store

    config = load_config()
    if not config.found:
        fail(_NO_PROJECT, "config", hint=_PROJECT_HINT)
    lock = RunnerLock(config.store_url) if migrate else None
    if lock is not None:
        lock.acquire(command_name())
    try:
        store = open_store(config.store_url)
        try:
            if migrate:
                refuse_beside_workers(store, datetime.now(UTC))
            report = publish_plan(config, store, parse_moment(now), migrate=migrate)
        finally:
            store.close()
    finally:
        if lock is not None:
            lock.release()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(text(report.plan, Path.cwd()), nl=False)
    if not report.plan.changes:
        typer.echo("published: nothing changed")
    else:
        changed = [j.name for j in report.plan.journeys if j.change != "unchanged"]
        typer.echo(f"published: {', '.join(changed)}")
    if migrate:
        total = sum(report.moved.values())
        typer.echo(f"moved {total} run(s) to the new versions")
