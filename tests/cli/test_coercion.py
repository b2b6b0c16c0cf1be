"""journey's own coercion of command-line values (``journey.cli.coercion``) takes what
Typer's Pydantic adapters take, to the same value, and leaves every refusal to Typer, so a
user sees the same answer either way: here every parameter of every command is given
valid and invalid values through both."""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

import journey.cli
from journey.cli.app import app
from journey.cli.coercion import QuickValue, quick_value

SAMPLES: dict[Any, list[Any]] = {
    str: ["x", "", "Ümlaut straße", "  padded  "],
    int: ["5", "-3", "007", "0", "1e3", "five", " 5", "99999999999999", "-1", "", "1.0"],
    float: ["0.5", "1", "-2.25", "abc", "nan", "1e-3", "", " 2", "10.0"],
    bool: [True, False],
    Path: ["journeys", "journeys/", "missing/deeper", "", ".", Path("given")],
}


def samples(annotation: Any) -> list[Any]:
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        singles = samples(item)
        return [singles[:2], tuple(singles[-2:]), singles[0]]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        values = [str(choice.value) for choice in annotation]
        return [*values, values[0].upper(), "bogus", ""]
    return SAMPLES[annotation]


def parameters() -> list[Any]:
    for module in pkgutil.iter_modules(journey.cli.__path__, "journey.cli."):
        importlib.import_module(module.name)
    found: list[Any] = []

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            if getattr(param, "type_descriptor", None) is not None:
                found.append(pytest.param(command, param, id=f"{path} {param.name}"))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_group(app), "journey")
    return found


def outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "refused", exc.format_message()


@pytest.mark.parametrize(("command", "param"), parameters())
def test_every_parameter_takes_and_refuses_what_typer_does(
    command: Any, param: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "journeys").mkdir()
    monkeypatch.chdir(tmp_path)
    ours = quick_value(param.type_descriptor)
    assert isinstance(ours, QuickValue)
    assert isinstance(param.get_runtime_param(), QuickValue)  # what the command uses
    theirs = build_runtime_param(param.type_descriptor)
    ctx = Context(command)
    for value in samples(param.type_descriptor.annotation):
        expected = outcome(theirs, value, param, ctx)
        assert outcome(ours, value, param, ctx) == expected, value
        if expected[0] == "value":
            assert type(outcome(ours, value, param, ctx)[1]) is type(expected[1])
