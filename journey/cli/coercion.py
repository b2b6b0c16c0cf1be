"""Command-line values turned into Python values without building Pydantic validators.

Pipeline position: under every command's parameters (``journey.cli.help`` gives each one a
``QuickValue``). Typer coerces every value through a Pydantic ``TypeAdapter``; importing
Pydantic and building the adapters costs more than the rest of ``journey check``. The
shapes journey's commands use — text, paths, whole numbers, decimals, choices, lists of
them — are taken here by the same rules when the value is plainly valid, and anything
else (a bad value, a shape not handled here) goes to Typer's own coercion, so the result
and every refusal's wording stay Typer's.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Context
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer._typing import is_literal_type, literal_values

__all__ = ["QuickValue", "quick_value"]

_WHOLE = re.compile(r"-?[0-9]{1,30}")
_DECIMAL = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")


class _ReferError(Exception):
    """The value is not plainly valid here: Typer's own coercion decides (and words the
    refusal)."""


class QuickValue(RuntimeParam):
    """A parameter's coercion: the plain cases here, the rest by Typer's adapter (built
    only when a value needs it)."""

    def __init__(self, descriptor: TypeDescriptor) -> None:
        super().__init__(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
        object.__setattr__(self, "_descriptor", descriptor)
        object.__setattr__(self, "_typer", None)

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        try:
            return self._quick(self.annotation, value, param, ctx)
        except Exception:  # any doubt: Typer decides, and says why
            return self._fallback()._coerce_value(value, param=param, ctx=ctx)

    def _fallback(self) -> RuntimeParam:
        typer_param: RuntimeParam | None = getattr(self, "_typer")  # noqa: B009
        if typer_param is None:
            typer_param = build_runtime_param(getattr(self, "_descriptor"))  # noqa: B009
            object.__setattr__(self, "_typer", typer_param)
        return typer_param

    def _quick(self, annotation: Any, value: Any, param: Any, ctx: Context) -> Any:
        info = self.parameter_info
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            items = value if isinstance(value, list | tuple) else [value]
            return [self._quick(item, one, param, ctx) for one in items]
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            choices: tuple[Any, ...] = tuple(annotation)
        elif is_literal_type(annotation):
            choices = literal_values(annotation)
        else:
            return self._leaf(annotation, value, param, ctx)
        return coerce_cli_choice(
            value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
        )

    def _leaf(self, annotation: Any, value: Any, param: Any, ctx: Context) -> Any:
        info = self.parameter_info
        if info.min is not None or info.max is not None:
            number = self._number(annotation, value)
            low, high = info.min, info.max
            if (low is not None and number < low) or (high is not None and number > high):
                raise _ReferError
            return number
        if annotation is str and isinstance(value, str):
            return value
        if annotation is bool and isinstance(value, bool):
            return value
        if annotation in (int, float):
            return self._number(annotation, value)
        if isinstance(annotation, type) and issubclass(annotation, Path):
            if not isinstance(value, str | Path):
                raise _ReferError
            # Typer reads the text as a path through Pydantic, which is ``Path(text)``.
            return coerce_cli_path(
                annotation(value), info, path_type=annotation, param=param, ctx=ctx
            )
        raise _ReferError

    @staticmethod
    def _number(annotation: Any, value: Any) -> int | float:
        if annotation is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _WHOLE.fullmatch(value):
                return int(value)
        elif annotation is float:
            if isinstance(value, float):
                return value
            if isinstance(value, str) and _DECIMAL.fullmatch(value):
                return float(value)
        raise _ReferError


def quick_value(descriptor: TypeDescriptor) -> RuntimeParam | None:
    """The coercion for a parameter of this type; ``None``: Typer's own (a custom parser,
    a file to open)."""
    if descriptor.parameter_info.parser is not None or descriptor.file_annotation is not None:
        return None
    return QuickValue(descriptor)
