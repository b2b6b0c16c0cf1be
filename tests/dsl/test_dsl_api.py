"""The public API other parts code against: exactly these names, importable."""

from __future__ import annotations

import importlib

import pytest

from journey import dsl

PUBLIC = {
    "END",
    "CompiledJourney",
    "Diagnostic",
    "JourneyError",
    "Schema",
    "Step",
    "compile_file",
    "compile_source",
    "format_source",
    "parse",
    "parse_condition",
    "render_template",
    "template_fields",
}


def test_all_is_the_public_api() -> None:
    assert set(dsl.__all__) == PUBLIC
    assert all(hasattr(dsl, name) for name in dsl.__all__)


@pytest.mark.parametrize(
    "name",
    ["checker", "compiled", "compiler", "diagnostics", "draw", "formatter", "syntax", "walk"],
)
def test_each_stage_exports_only_names_it_has(name: str) -> None:
    module = importlib.import_module(f"journey.dsl.{name}")
    exported: list[str] = module.__all__
    assert exported
    for attribute in exported:
        assert not attribute.startswith("_"), attribute
        assert hasattr(module, attribute), f"{name}.{attribute} is exported but missing"


def test_compile_file_reports_unreadable_files(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    compiled, diagnostics = dsl.compile_file(folder)
    assert compiled is None
    assert diagnostics[0].message == "is a folder, not a journey file"
    missing = folder / "missing.journey"
    compiled, diagnostics = dsl.compile_file(missing)
    assert compiled is None
    assert diagnostics[0].message.startswith("cannot read the file")
