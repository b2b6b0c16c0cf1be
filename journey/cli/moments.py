"""``--at`` and ``--now``: the moment a command acts at, read as people write it.

Its own module so that a command which needs nothing else of ``cli.runs`` (a dry run
above all) reads it without loading the runner, the status tables and the OAuth stack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from journey.cli.errors import fail

__all__ = ["NowOpt", "parse_moment"]

#: The ``--now`` option of the commands that act on contacts.
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="ISO-TIME",
        help="Act as if it were this ISO date-time (default: the clock).",
    ),
]


def parse_moment(text: str | None) -> datetime:
    """An ISO date or date-time (UTC when no zone is given), or the clock's now."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{text!r} is not an ISO date-time", hint="e.g. 2026-03-01T09:00 or 2026-03-01")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
