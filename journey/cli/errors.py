"""The CLI's one failure path: what a command refuses with, the exit codes, one error shape.

Pipeline position: under every command. A command refuses by raising ``CommandError``
(``fail(...)``) or by letting a library exception through; ``problem_of`` turns either into a
``Problem``, and ``journey.cli.app`` prints it in one place: ``error: ...`` (and ``hint: ...``)
on stderr, or with ``--json`` one object on stdout::

    {"error": {"code": "config", "message": "...", "where": "journey.toml:3:1", "hint": "..."}}

``code`` is stable and meant for programs (the table ``CODES``); ``message`` is for people;
``where`` (a file, ``file:line`` or ``file:line:column``) and ``hint`` are ``null`` when they
say nothing. The exit code follows the code (``ExitCode``; the README's "Exit codes" table).
Anything unexpected is ``internal`` (exit 70) without a traceback, unless ``--debug`` or
``JOURNEY_DEBUG=1`` asks for one.

The library's exceptions are recognised by name (``_raised``), not imported: every command
prints its failures here, and importing the modules that define them would make ``journey
check`` load SQLAlchemy, simple-salesforce and the emulated org.
"""

from __future__ import annotations

import errno
import json
import re
import sys
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import typer

if TYPE_CHECKING:
    from journey.connectors.salesforce.errors import ConnectionSettingsError, SalesforceProblem
    from journey.connectors.sync import SyncProblem
    from journey.dsl.diagnostics import Diagnostic
    from journey.engine.config import ConfigError
    from journey.engine.journeys import JourneyLoadError
    from journey.engine.locks import InUseError
    from journey.engine.store_url import StoreOpenError

__all__ = [
    "CODES",
    "CommandError",
    "ExitCode",
    "Problem",
    "fail",
    "print_problem",
    "problem_of",
    "row_problem",
]


class ExitCode(IntEnum):
    """What a program calling ``journey`` can branch on (README, "Exit codes")."""

    OK = 0
    #: The command ran and found problems: check errors, files ``fmt --check`` would change,
    #: refused CSV rows, failed runs, a sync cycle that stopped.
    PROBLEMS = 1
    #: The command could not start: bad arguments, a bad ``journey.toml``, a journey that does
    #: not compile, an unreadable file, something named that does not exist.
    USAGE = 2
    #: Salesforce stopped the work: unreachable, the session needs renewing, the API
    #: allocation is spent, or it refused the call. Nothing is lost; the work waits.
    SALESFORCE = 3
    #: A bug in journey (``EX_SOFTWARE``): please report it with ``--debug``'s traceback.
    INTERNAL = 70
    #: Interrupted (Ctrl-C), as shells count it.
    INTERRUPTED = 130


#: Every ``code`` of the error shape, and the exit code it ends the command with.
CODES: dict[str, ExitCode] = {
    "usage": ExitCode.USAGE,  # bad arguments or options
    "config": ExitCode.USAGE,  # journey.toml, the seed, the connection settings
    "journey": ExitCode.USAGE,  # a journey that does not parse or compile
    "input": ExitCode.USAGE,  # a CSV or a value that cannot be taken at all
    "file": ExitCode.USAGE,  # a file or folder that cannot be read or written
    "not_found": ExitCode.USAGE,  # the contact, journey or object named is not there
    "store": ExitCode.USAGE,  # a store this release cannot migrate, or one never migrated
    "in_use": ExitCode.USAGE,  # the embedded org or the store's runs held by another process
    "salesforce": ExitCode.SALESFORCE,
    "internal": ExitCode.INTERNAL,
    "interrupted": ExitCode.INTERRUPTED,
}


@dataclass(frozen=True)
class Problem:
    """One error, in the shape every command prints (module docstring)."""

    code: str
    message: str
    where: str | None = None
    hint: str | None = None

    @property
    def exit_code(self) -> int:
        return int(CODES.get(self.code, ExitCode.INTERNAL))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """For people: ``error: where: message`` and, on the next line, the hint."""
        head = f"error: {self.where}: {self.message}" if self.where else f"error: {self.message}"
        return f"{head}\nhint: {self.hint}" if self.hint else head


class CommandError(Exception):
    """A command refuses to go on; ``problem`` says why (raised through ``fail``)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def fail(
    message: str, code: str = "usage", *, where: str | None = None, hint: str | None = None
) -> NoReturn:
    """Stop the command: ``message`` for people, ``code`` (one of ``CODES``) for programs."""
    raise CommandError(Problem(code, message, where, hint))


def row_problem(source: str, row: int, message: str) -> dict[str, Any]:
    """A refused CSV row, in the error shape (plus its ``row`` number), for reports that go
    on past it (``contacts import``, ``dry-run``)."""
    return {**Problem("input", message, f"{source}:{row}").as_dict(), "row": row}


def print_problem(problem: Problem, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": problem.as_dict()}, ensure_ascii=False))
    else:
        typer.echo(problem.text(), err=True)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_CHECK_HINT = "`journey check journeys/` shows every problem with its line and a caret"
_CONFIG_HINT = "docs/configuration.md describes every section and key"


def _where(diagnostic: Diagnostic) -> str:
    return f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}"


def _from_diagnostics(diagnostics: list[Diagnostic], fallback: str) -> Problem:
    errors = [d for d in diagnostics if d.severity == "error"] or diagnostics
    if not errors:
        return Problem("journey", fallback, hint=_CHECK_HINT)
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem("journey", first.message + more, _where(first), first.hint or _CHECK_HINT)


def _config(error: ConfigError) -> Problem:
    """``ConfigError`` messages start with the file they are about: that is ``where``."""
    path, sep, rest = str(error).partition(": ")
    if not sep or not path.endswith(".toml"):
        return Problem("config", str(error), hint=_CONFIG_HINT)
    position = _TOML_POSITION.search(rest)
    if position:
        rest = _TOML_POSITION.sub("", rest)
        path = f"{path}:{position[1]}:{position[2]}"
    return Problem("config", rest, path, _CONFIG_HINT)


def _connection(error: ConnectionSettingsError) -> Problem:
    # A message naming a setting ("[salesforce] ...") is the configuration's fault; the
    # others are Salesforce's answer: a refused login, no answer, a session that does not work.
    text = str(error)
    if text.startswith("[salesforce] seed"):
        return Problem("config", text, hint="docs/emulator.md describes the seed file")
    if text.startswith("[salesforce]"):
        return Problem("config", text)
    return Problem(
        "salesforce",
        text,
        hint="put valid credentials where journey.toml [salesforce] points, then "
        "`journey salesforce renew`",
    )


def _raised(error: BaseException, *classes: str) -> bool:
    """Whether ``error`` is one of ``classes`` (``"module:Name"``). A class whose module was
    never imported cannot have been raised, so its module is looked up, never imported."""
    for qualified in classes:
        module, _, name = qualified.partition(":")
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return True
    return False


def problem_of(error: BaseException) -> Problem | None:
    """The problem a library exception means for the user; ``None``: it is a bug."""
    if isinstance(error, CommandError):
        return error.problem
    if _raised(error, "journey.engine.config:ConfigError"):
        return _config(cast("ConfigError", error))
    if _raised(
        error, "journey.engine.journeys:JourneyLoadError", "journey.dsl.diagnostics:JourneyError"
    ):
        return _from_diagnostics(cast("JourneyLoadError", error).diagnostics, str(error))
    if _raised(error, "journey.connectors.salesforce.errors:ConnectionSettingsError"):
        return _connection(cast("ConnectionSettingsError", error))
    if _raised(error, "journey.emulator.seed:SeedError"):
        return Problem(
            "config", f"the Salesforce seed: {error}", hint="docs/emulator.md describes the seed"
        )
    if _raised(
        error, "journey.engine.csv_rows:IntakeError", "journey.engine.field_values:FieldValueError"
    ):
        return Problem("input", str(error))
    if _raised(
        error,
        "journey.connectors.salesforce.errors:SalesforceProblem",
        "journey.connectors.sync:SyncProblem",
    ):
        known = cast("SalesforceProblem | SyncProblem", error)
        return Problem(
            "salesforce",
            f"{known.code}: {known.message}",
            hint="`journey salesforce status` shows the connection and any pause",
        )
    if _raised(error, "journey.engine.locks:InUseError"):
        in_use = cast("InUseError", error)
        return Problem("in_use", in_use.message, hint=in_use.hint)
    if _raised(
        error,
        "journey.engine.migrations:StoreVersionError",
        "journey.connectors.salesforce.state:UnmigratedStoreError",
    ):
        return Problem("store", str(error))
    if _raised(error, "journey.engine.store_url:StoreOpenError"):
        unopened = cast("StoreOpenError", error)
        return Problem("store", unopened.message, hint=unopened.hint)
    if isinstance(error, OSError) and error.filename is not None:
        return _file(error)
    return None


_NOT_ALLOWED = (errno.EACCES, errno.EPERM, errno.EROFS)


def _file(error: OSError) -> Problem:
    """A file or folder journey could not make, read or write; a file standing where a
    folder must be (``.journey`` made by hand) is named, not the path under it."""
    path = Path(str(error.filename))
    blocker = next(
        (p for p in (path, *path.parents) if p.exists() and not p.is_dir() and p != path), None
    )
    if error.errno in (errno.ENOTDIR, errno.EEXIST) and (blocker or path.is_file()):
        where = blocker or path
        return Problem(
            "file",
            "this is a file, but journey needs a folder here",
            str(where),
            hint=f"move {where.name} away: journey makes the folder and keeps its state in it",
        )
    if error.errno in _NOT_ALLOWED:
        return Problem(
            "file",
            f"{error.strerror}: journey cannot write here",
            str(path),
            hint=f"make {path.parent} writable for this user, or run journey where it can write",
        )
    return Problem("file", error.strerror or str(error), str(error.filename))
