"""Plain ``--help``: metavars people read (``FILE``, ``CSV``, ``ISO-TIME``, ``TEXT``), no
Python types (``<bool>``, ``<list[Path]>``), nothing after a flag, and each command's summary
on one line.

Pipeline position: under every command. ``journey.cli.app`` builds each command and group
with ``PlainCommand`` / ``PlainGroup``; they name each parameter once, when built: an
explicit ``metavar=`` wins, otherwise the name comes from the type (``_TYPE_NAMES``). The
usage line reads ``PATH...`` for a required list and ``[PATH]`` for an optional argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from journey.cli.coercion import quick_value

__all__ = ["PlainCommand", "PlainGroup", "plain_params", "short_help"]

_TYPE_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


class _PlainArgument(TyperArgument):
    """An argument shows its metavar in the name column and no type beside it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = str(self.metavar)
        return name if self.required else f"[{name}]"


def _type_name(param: TyperArgument | TyperOption) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:
        return "TEXT"
    if descriptor.choices:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices)
    annotation = descriptor.annotation
    args = getattr(annotation, "__args__", None)
    if descriptor.is_list and args:
        annotation = args[0]
    return _TYPE_NAMES.get(annotation, "TEXT")


def _plain(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(param, "_runtime_param", None) is None:
        # Typer would build a Pydantic adapter for the value (journey.cli.coercion).
        param._runtime_param = quick_value(descriptor)
    if isinstance(param, TyperArgument) and not isinstance(param, _PlainArgument):
        name = param.metavar or (param.name or "value").upper()
        param.metavar = name + ("..." if param.nargs != 1 else "")
        param.__class__ = _PlainArgument  # same state, plain display
    elif isinstance(param, TyperOption) and param.metavar is None:
        flag = param.is_flag or param.count
        param.metavar = "" if flag else _type_name(param)


def plain_params(command: TyperCommand | TyperGroup) -> None:
    """Give every parameter of ``command`` its plain metavar (idempotent)."""
    for param in command.params:
        _plain(param)


def short_help(command: Any) -> None:
    """The one-line summary in a group's command list: the first paragraph of the
    command's help, its source line breaks folded (a docstring wraps at 100 columns, the
    terminal somewhere else)."""
    if getattr(command, "short_help", None) or not getattr(command, "help", None):
        return
    first = str(command.help).strip().split("\n\n", 1)[0]
    command.short_help = " ".join(first.split())


class PlainCommand(TyperCommand):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        plain_params(self)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        option = super().get_help_option(ctx)
        _plain(option)
        return option


class PlainGroup(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        plain_params(self)
        for command in self.commands.values():
            short_help(command)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        option = super().get_help_option(ctx)
        _plain(option)
        return option
