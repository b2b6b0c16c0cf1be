"""The formatter: one canonical layout, comments kept, meaning unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey.dsl import JourneyError, format_source, parse
from journey.example import example_project

MESSY = """\
# Leading comment
JOURNEY   "Messy"
TRIGGER form submitted "F"   # why this form
trigger ADDED to list "L"
ENTRY once every 1 days
GOAL "G" when ((field "Rating" is "Hot")) OR field "Email" is empty


if not (in segment "A" and in segment "B"):
  wait 1 weeks
  # inside the block


  Add Task "Call" Priority "P" Due In 1 Days
else:
  exit
"""

CANONICAL = """\
# Leading comment
journey "Messy"

trigger form submitted "F"  # why this form
trigger added to list "L"

entry once every 1 day
goal "G" when field "Rating" is "Hot" or field "Email" is empty

if not (in segment "A" and in segment "B"):
    wait 1 week
    # inside the block

    add task "Call" due in 1 day priority "P"
else:
    exit
"""


def test_canonical_layout() -> None:
    assert format_source(MESSY) == CANONICAL


def test_formatting_keeps_meaning_and_is_idempotent() -> None:
    assert parse(format_source(MESSY)) == parse(MESSY)
    assert format_source(CANONICAL) == CANONICAL


def test_invalid_input_raises_with_diagnostics() -> None:
    with pytest.raises(JourneyError) as caught:
        format_source('journey "J"\nwait 2 dayz\n')
    assert caught.value.diagnostics[0].line == 2


def test_meaning_problems_still_format() -> None:
    assert format_source('journey "J"\nexit\n') == 'journey "J"\n\nexit\n'


@pytest.mark.parametrize(
    "path", sorted(Path(str(example_project() / "journeys")).glob("*.journey")), ids=str
)
def test_example_journeys_are_formatted(path: Path) -> None:
    text = path.read_text()
    assert format_source(text) == text
