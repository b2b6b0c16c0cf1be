"""The product spec's acceptance journeys: the valid ones check, compile and draw the
same way every time (snapshots); each invalid one fails where its first line says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from journey.dsl import compile_source, parse
from journey.dsl.draw import to_json, to_mermaid, to_plain
from tests.dsl.dsl_spec import acceptance_files, invalid_files, needs_spec

pytestmark = needs_spec()

VALID = acceptance_files()
INVALID = invalid_files()


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_acceptance_journey_compiles_without_errors(path: Path) -> None:
    compiled, diagnostics = compile_source(path.read_text(), path.name)
    assert compiled is not None
    assert [d for d in diagnostics if d.severity == "error"] == []


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_syntax_tree(path: Path, snapshot: SnapshotAssertion) -> None:
    assert to_plain(parse(path.read_text(), path.name), spans=True) == snapshot


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_graph_json(path: Path, snapshot: SnapshotAssertion) -> None:
    compiled, _ = compile_source(path.read_text(), path.name)
    assert compiled is not None
    assert to_json(compiled) == snapshot


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_mermaid(path: Path, snapshot: SnapshotAssertion) -> None:
    compiled, _ = compile_source(path.read_text(), path.name)
    assert compiled is not None
    assert to_mermaid(compiled) == snapshot


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_journey_fails_where_it_says(path: Path) -> None:
    text = path.read_text()
    expected = re.match(r"# expect-error: (\d+):(\d+) (.+)", text.splitlines()[0])
    assert expected, "the first line states the expected error"
    line, column, word = int(expected[1]), int(expected[2]), expected[3].strip()
    compiled, diagnostics = compile_source(text, path.name)
    assert compiled is None
    first = next(d for d in diagnostics if d.severity == "error")
    assert (first.line, first.column) == (line, column)
    assert word.lower() in f"{first.message} {first.hint or ''}".lower()


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_diagnostics(path: Path, snapshot: SnapshotAssertion) -> None:
    _, diagnostics = compile_source(path.read_text(), path.name)
    assert [d.format() for d in diagnostics] == snapshot
