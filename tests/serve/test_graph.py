"""The journey drawing: every step placed once, no two overlapping, the flow running down
the page and ``go to`` loops drawn back up the side, any journey text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import journey
from journey.dsl import CompiledJourney, compile_source
from journey.serve.graph import COUNT_KINDS, layout, to_svg

EXAMPLES = sorted((Path(journey.__file__).parent / "example" / "journeys").glob("*.journey"))
SVG = "{http://www.w3.org/2000/svg}"


def compiled(text: str) -> CompiledJourney:
    result, diagnostics = compile_source(text, "test.journey")
    assert result is not None, diagnostics
    return result


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_step_is_placed_once_and_none_overlap(path: Path) -> None:
    drawn = compiled(path.read_text())
    placed = layout(drawn)
    assert set(placed.positions) == set(drawn.steps)
    boxes = sorted(placed.positions.values())
    assert len(set(boxes)) == len(boxes)
    for source, target in drawn.graph.edges:
        if (source, target) not in placed.back_edges:
            assert placed.positions[target][1] > placed.positions[source][1], (source, target)
    for x, y in boxes:
        assert 0 <= x < placed.width
        assert 0 <= y < placed.height


def test_a_go_to_loop_is_drawn_back_up() -> None:
    path = next(p for p in EXAMPLES if p.name == "inbound-routing.journey")
    drawn = compiled(path.read_text())
    placed = layout(drawn)
    assert placed.back_edges
    for source, target in placed.back_edges:
        assert placed.positions[target][1] <= placed.positions[source][1]
    assert 'class="edge back"' in to_svg(drawn, lambda s: f"/s/{s}")


def test_each_step_links_to_its_contacts_and_shows_its_counts() -> None:
    drawn = compiled(
        'journey "J"\n\ntrigger form submitted "F"\n\nwait 1 day\n'
        'if field "Score" > 10:\n    update field "Rating" to "Hot"\nelse:\n    exit\n'
    )
    svg = to_svg(drawn, lambda s: f"/j?step={s}", {"1": {"entered": 3, "waiting": 2}})
    root = ET.fromstring(svg)
    links = root.findall(f"{SVG}a")
    assert {a.get("data-step") for a in links} == set(drawn.steps)
    first = next(a for a in links if a.get("data-step") == "1")
    assert first.get("href") == "/j?step=1"
    numbers = {
        t.get("data-count"): t.text for t in first.iter(f"{SVG}tspan") if t.get("data-count")
    }
    assert numbers == {"entered": "3", "waiting": "2", "done": "0", "failed": "0"}
    assert set(numbers) == set(COUNT_KINDS)
    labels = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"}
    assert {"yes", "no"} <= labels


def test_journey_text_is_escaped() -> None:
    drawn = compiled(
        'journey "<J & co>"\n\ntrigger form submitted "F"\n\n'
        'update field "Rating" to "<script>alert(1)</script>"\n'
    )
    svg = to_svg(drawn, lambda s: f"/j?step={s}&x=<'\">")
    assert "<script>" not in svg
    root = ET.fromstring(svg)  # well-formed whatever the text
    assert root.get("aria-label") == "<J & co>"
