"""Entry point of the ``journey`` console command.

The commands register themselves on ``journey.cli.app.app`` when their module is imported,
and ``journey.cli.app.COMMANDS`` imports each module only when its command is asked for:
the language (check, fmt, graph), the dry run, the Salesforce org (and the cache of its
names that ``check`` reads), the engine's runs, the sync, a new project (init), and the
demo that runs the example journeys on embedded defaults.

``journey --version`` alone is answered before Typer is imported: editors and scripts ask
it to find out which journey they have, and Typer costs several times what Python does to
start. With anything else on the line, the version goes through the app as every option
does.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journey.cli.app import app

__all__ = ["app", "main"]

_VERSION_FLAGS = (["--version"], ["-V"])

#: The collector's first threshold while a command runs (CPython's default is 700). A
#: command's start-up allocates hundreds of thousands of objects that all live until it
#: ends — modules, classes, SQLAlchemy's and lark's tables — and with the default the
#: collector walks them over and over for nothing. A higher threshold still collects
#: cycles, in fewer, larger passes.
GC_THRESHOLD = 100_000


def main() -> None:
    """Run the CLI."""
    if sys.argv[1:] in _VERSION_FLAGS:
        import journey

        sys.stdout.write(f"journey {journey.__version__}\n")
        sys.stdout.flush()
        return
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    gc.disable()  # until the command's modules are loaded: ``started``
    from journey.cli.app import app

    try:
        app()
    finally:
        # The interpreter's last collection walks every object the process still holds,
        # only to free memory the exit frees anyway: about a third of a second a command.
        # Frozen objects are skipped. atexit handlers still run, and everything not in a
        # reference cycle is still released as modules are torn down.
        gc.freeze()


def started() -> None:
    """The command's modules are loaded (``journey.cli.app`` calls this): what the start-up
    made — modules, classes, SQLAlchemy's and lark's tables, some 100,000 objects — lives
    until the command ends, so it is frozen, never walked by a collection again, and the
    collector ``main`` held off while it was made (one collection of it took 30 ms) let go.
    Only after ``main``: a process that runs commands in-process (the tests) keeps its
    collector as it had it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def __getattr__(name: str) -> object:
    # ``journey.cli.main.app`` stays the Typer application (for tests and entry points that
    # name it) without importing Typer when only the version is asked for.
    if name == "app":
        from journey.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
