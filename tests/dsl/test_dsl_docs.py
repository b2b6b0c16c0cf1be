"""Every ```journey example in docs/language.md and every journey of the example project
(journey/example/journeys/) checks cleanly, so the reference and the examples cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from journey.dsl import compile_source, format_source
from journey.example import example_project

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "language.md"
JOURNEYS = sorted(Path(str(example_project() / "journeys")).glob("*.journey"))
EXAMPLES = re.findall(r"```journey\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0][:40])
def test_doc_example_checks(example: str) -> None:
    compiled, diagnostics = compile_source(example, "docs/language.md")
    assert compiled is not None, [d.format() for d in diagnostics]


@pytest.mark.parametrize("path", JOURNEYS, ids=lambda p: p.name)
def test_example_journey_checks(path: Path) -> None:
    compiled, diagnostics = compile_source(path.read_text(), str(path))
    assert compiled is not None, [d.format() for d in diagnostics]
    assert [d for d in diagnostics if d.severity == "error"] == []


def test_examples_cover_every_construct() -> None:
    text = "\n".join(p.read_text() for p in JOURNEYS).lower()
    constructs = [
        "trigger form submitted", "trigger added to list", "trigger entered segment",
        "trigger field changed", "trigger campaign member status changed",
        "entry once\n", "entry always", "entry once every", "goal ",
        "if ", "else if ", "else:", "split ", "path:", "wait 1 week", "minutes", "hours",
        "wait until", "step ", "go to ", "exit", "# ",
        " is \"", " is not \"", "is empty", "is not empty", "contains", "starts with",
        " > ", " >= ", " < ", " <= ", "is true", "is false", "in list", "in segment",
        "is salesforce lead", "is salesforce contact", "campaign member status in",
        " and ", " or ", "not ", "(",
        "add to list", "remove from list", "update field", "update salesforce field",
        "assign lead to \"", "assign lead to group", "keep current assignment",
        "lead source", "lead status", "add task", "due in", "assigned to lead owner",
        "assigned to \"", "priority", "set member status", "create opportunity", "stage",
        "amount", "close in", "send notification", "also to lead owner", "{{",
    ]  # fmt: skip
    assert [c for c in constructs if c not in text] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0][:40])
def test_doc_examples_are_formatted(example: str) -> None:
    formatted = format_source(example)
    assert format_source(formatted) == formatted
