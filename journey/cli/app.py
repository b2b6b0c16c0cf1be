"""The Typer application: its command groups, the panels of ``journey --help``, the options
every command shares, and the one place a failure is printed.

Pipeline position: the top of the CLI. Command modules register on ``app`` (and the groups
here) when they are imported, and they are imported only when their command is asked for
(``COMMANDS``: a command's name → the modules that register it and its subcommands), so
``journey check`` never pays for SQLAlchemy, simple-salesforce or the emulated org, and
``journey --version`` for no command at all; ``journey --help`` loads them all.
``RootGroup.main`` runs every invocation, so whatever a command raises — a
``CommandError`` (``journey.cli.errors.fail``), a library exception, a usage mistake, a bug —
ends the same way: one ``error:`` line (or the JSON error shape with ``--json``) and the exit
code of the README's table. Help is plain (``journey.cli.help``).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Annotated, Any

import typer
from typer.main import get_command_from_info, get_command_name, get_group_from_info

import journey
from journey.cli.errors import ExitCode, Problem, print_problem, problem_of
from journey.cli.help import PlainCommand, PlainGroup, short_help
from journey.cli.main import started

__all__ = [
    "COMMANDS",
    "DEBUG_ENV",
    "NO_STORE",
    "PANELS",
    "JsonOpt",
    "RootGroup",
    "app",
    "contacts_app",
    "group",
    "salesforce_app",
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]

#: ``JOURNEY_DEBUG=1`` (or ``journey --debug``): an internal error shows its traceback.
DEBUG_ENV = "JOURNEY_DEBUG"

#: What reading commands say in a folder where nothing has run yet (they never create it).
NO_STORE = "no store yet: run `journey contacts import` or `journey run` first"

#: ``journey --help`` shows the commands in these panels, in this order; the README's
#: Commands table follows it.
PANELS: dict[str, tuple[str, ...]] = {
    "Get started": ("init", "demo"),
    "Write journeys": ("check", "fmt", "graph", "dry-run", "plan", "publish", "lsp"),
    "Run": ("run", "worker", "retry", "event", "contacts"),
    "Observe": ("status", "contact", "serve"),
    "Salesforce": ("salesforce", "sync"),
}

#: Each command (or group) of ``journey``, and the modules that register it on ``app`` and
#: its subcommands: imported the first time the command is looked up. A command a module
#: registers at import without being listed here still works; it just loads eagerly.
COMMANDS: dict[str, tuple[str, ...]] = {
    "init": ("journey.cli.init",),
    "demo": ("journey.cli.demo",),
    "check": ("journey.cli.language",),
    "fmt": ("journey.cli.language",),
    "graph": ("journey.cli.language",),
    "dry-run": ("journey.cli.dryrun",),
    "lsp": ("journey.cli.lsp",),
    "plan": ("journey.cli.plan",),
    "publish": ("journey.cli.plan",),
    "run": ("journey.cli.runs",),
    "worker": ("journey.cli.worker",),
    "retry": ("journey.cli.failures",),
    "event": ("journey.cli.runs",),
    "contacts": ("journey.cli.contacts_import",),
    "status": ("journey.cli.runs",),
    "contact": ("journey.cli.runs",),
    "serve": ("journey.cli.serve",),
    "salesforce": (
        "journey.cli.connection",
        "journey.cli.org",
        "journey.cli.org_cache",
        "journey.cli.sync",
    ),
    "sync": ("journey.cli.sync",),
}
_PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names}
_ORDER = list(_PANEL_OF)


def _wants_json(argv: Sequence[str]) -> bool:
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return "--json" in options


def _debug(argv: Sequence[str]) -> bool:
    flag = os.environ.get(DEBUG_ENV, "").strip().casefold() not in ("", "0", "false", "no")
    return flag or "--debug" in argv


def _usage_problem(error: typer.TyperException) -> Problem:
    ctx = getattr(error, "ctx", None)
    hint = None
    if ctx is not None:
        usage = ctx.get_usage().removeprefix("Usage: ").strip()
        hint = f"usage: {usage} (`{ctx.command_path} --help` says more)"
    return Problem("usage", error.format_message(), hint=hint)


def _ended(error: BaseException, argv: Sequence[str]) -> int:
    """Print what ended the command; its exit code."""
    if type(error).__name__ == "NoArgsIsHelpError":  # typer printed the help already
        return ExitCode.USAGE
    if isinstance(error, typer.Abort):
        problem: Problem | None = Problem("interrupted", "aborted")
    elif isinstance(error, typer.TyperException):
        problem = _usage_problem(error)
    else:
        problem = problem_of(error)
    if problem is None:
        if _debug(argv):
            raise error
        problem = Problem(
            "internal",
            f"{type(error).__name__}: {error}",
            hint=f"this is a bug in journey: run again with {DEBUG_ENV}=1 for the traceback "
            "and report it",
        )
    print_problem(problem, _wants_json(argv))
    return problem.exit_code


class _Commands(MutableMapping[str, Any]):
    """``journey``'s commands by name: every name of ``COMMANDS`` is listed from the start,
    and a command is built, its modules imported, the first time it is read. Click and
    Typer look commands up here (``get``) and list their names (``keys``), so running one
    command loads one module, and only what reads them all (``journey --help``, a test's
    walk over ``items``) loads them all."""

    def __init__(self, built: dict[str, Any]) -> None:
        # A command of ``COMMANDS`` that Typer built before its modules were imported is a
        # group without its subcommands yet (``salesforce``, ``contacts``): built again.
        self._built = {n: c for n, c in built.items() if n not in COMMANDS or _imported(n)}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built and name in COMMANDS:
            for module in COMMANDS[name]:
                importlib.import_module(module)
            started()
            command = _build(name)
            if command is not None:
                self._built[name] = _in_panel(command)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._built, *COMMANDS]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self._built, *COMMANDS]))

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in COMMANDS

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]


def _imported(name: str) -> bool:
    return all(module in sys.modules for module in COMMANDS[name])


def _build(name: str) -> Any:
    """The command (or group) ``name`` from what its modules registered on ``app``."""
    for info in app.registered_commands:
        callback = info.callback
        if callback is not None and (info.name or get_command_name(callback.__name__)) == name:
            return get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    for group_info in app.registered_groups:
        if group_info.name == name:
            return get_group_from_info(
                group_info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                suggest_commands=app.suggest_commands,
                rich_markup_mode=app.rich_markup_mode,
            )
    return None


def _in_panel(command: Any) -> Any:
    if command.name in _PANEL_OF:
        setattr(command, "rich_help_panel", _PANEL_OF[command.name])  # noqa: B010
    short_help(command)
    return command


class RootGroup(PlainGroup):
    """``journey`` itself: the commands in their panels, each built when first asked for
    (``_Commands``), and the one failure path."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            _in_panel(command)
        self.commands = _Commands(dict(self.commands))

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(self.commands, key=lambda n: _ORDER.index(n) if n in _ORDER else 99)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            result = super().main(
                argv, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except Exception as error:
            code = _ended(error, argv)
        else:
            code = result if isinstance(result, int) else 0
        sys.exit(int(code))


class _Typer(typer.Typer):
    """A Typer whose commands and groups print plain help."""

    def __init__(self, *, cls: type[PlainGroup] = PlainGroup, **kwargs: Any) -> None:
        super().__init__(cls=cls, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)


def group(help: str, **kwargs: Any) -> typer.Typer:
    """A command group (``journey salesforce ...``) that prints plain help."""
    kwargs.setdefault("no_args_is_help", True)
    return _Typer(help=help, **kwargs)


app = _Typer(
    cls=RootGroup,
    name="journey",
    help="Check, format, draw, dry-run and run customer journeys kept as text in git.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"journey {journey.__version__}")
        raise typer.Exit()


@app.callback(epilog="Example: journey demo (then: cd .journey/demo && journey status)")
def journey_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help=f"Show an internal error's traceback (or {DEBUG_ENV}=1)."),
    ] = False,
) -> None:
    """Check, format, draw, dry-run and run customer journeys kept as text in git."""


salesforce_app = group(
    "The Salesforce connection and the local emulated org.",
    epilog="Example: journey salesforce status",
)
contacts_app = group(
    "Contacts in the engine's store.",
    epilog='Example: journey contacts import people.csv --list "Website Leads"',
)
app.add_typer(salesforce_app, name="salesforce")
app.add_typer(contacts_app, name="contacts")
