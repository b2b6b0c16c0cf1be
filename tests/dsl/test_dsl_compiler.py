"""The compiler: step ids, outcomes, the graph and the version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from journey.dsl import END, CompiledJourney, compile_source, format_source, parse
from journey.dsl import compiler as compiler_module
from journey.dsl.syntax import AddToList, GoTo, InSegment, Label
from journey.dsl.walk import STEP_ID_SCHEME, walk

HEAD = 'journey "J"\ntrigger added to list "A"\n'


def compiled(body: str) -> CompiledJourney:
    journey, diagnostics = compile_source(HEAD + body, "j.journey")
    assert journey is not None, [d.format() for d in diagnostics]
    return journey


def nexts(journey: CompiledJourney) -> dict[str, dict[str, str]]:
    return {sid: dict(step.next) for sid, step in journey.steps.items()}


def test_if_chain_ids_and_outcomes() -> None:
    journey = compiled(
        'add to list "X"\n'
        'if in segment "A":\n    exit\nelse if in segment "B":\n    wait 1 day\n'
        '    add to list "Y"\nelse:\n    add to list "Z"\n'
        "wait 2 days\n"
    )
    assert journey.start == "1"
    assert nexts(journey) == {
        "1": {"next": "2"},
        "2": {"yes": "2.yes.1", "no": "2.else-if.1"},
        "2.yes.1": {},
        "2.else-if.1": {"yes": "2.else-if.1.yes.1", "no": "2.else.1"},
        "2.else-if.1.yes.1": {"next": "2.else-if.1.yes.2"},
        "2.else-if.1.yes.2": {"next": "3"},
        "2.else.1": {"next": "3"},
        "3": {"next": END},
        END: {},
    }
    assert journey.steps["2.else-if.1"].condition == InSegment("B")
    assert journey.steps["1"].action == AddToList("X")
    assert journey.steps["3"].duration == timedelta(days=2)


def test_if_without_else_continues_after_the_block() -> None:
    journey = compiled('if in segment "A":\n    add to list "X"\nexit\n')
    assert nexts(journey)["1"] == {"yes": "1.yes.1", "no": "2"}
    assert nexts(journey)["1.yes.1"] == {"next": "2"}


def test_split_paths_and_shares() -> None:
    journey = compiled(
        'split 70% / 30%:\n    path:\n        add to list "A"\n    path:\n        exit\n'
    )
    split = journey.steps["1"]
    assert split.kind == "split"
    assert split.shares == (70, 30)
    assert dict(split.next) == {"path 1": "1.path1.1", "path 2": "1.path2.1"}


def test_labels_name_steps_and_goto_is_an_edge() -> None:
    journey = compiled('step weekly\nwait 1 week\nif in segment "A":\n    exit\ngo to weekly\n')
    assert list(journey.steps) == ["weekly", "2", "2.yes.1", END]
    assert nexts(journey)["2"] == {"yes": "2.yes.1", "no": "weekly"}
    assert journey.graph.edges["2", "weekly"]["label"] == "no"


def test_ids_are_stable_when_a_label_or_goto_is_added_elsewhere() -> None:
    before = compiled('add to list "A"\nwait 1 day\nexit\n')
    after = compiled('step first\nadd to list "A"\nstep later\nwait 1 day\nexit\n')
    assert set(before.steps) - {"1"} <= set(after.steps) | {"2"}
    assert after.steps["3"].text == "exit"
    assert before.steps["3"].text == "exit"


def test_two_outcomes_to_one_step_share_an_edge() -> None:
    journey = compiled('if in segment "A":\n    go to done\nstep done\nexit\n')
    assert dict(journey.steps["1"].next) == {"yes": "done", "no": "done"}
    assert journey.graph.edges["1", "done"]["label"] == "yes, no"


def test_wait_until_and_graph_attributes() -> None:
    journey = compiled('wait until in segment "A" for at most 3 hours\n')
    step = journey.steps["1"]
    assert (step.kind, step.duration, step.condition) == (
        "wait_until",
        timedelta(hours=3),
        InSegment("A"),
    )
    node = journey.graph.nodes["1"]
    assert node["step"] is step
    assert (node["kind"], node["text"], node["line"]) == (
        "wait_until",
        'wait until in segment "A" for at most 3 hours',
        3,
    )


def test_version_is_stable_for_the_same_source_and_changes_with_it() -> None:
    a = compiled("exit\n")
    b = compiled("exit\n")
    c = compiled("exit\n\n")
    assert a.version == b.version
    assert a.version != c.version
    assert len(a.version) == 16


def test_version_changes_with_the_step_id_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs are pinned to (version, step id): the same text under another id scheme
    # must be another version, or stored runs would point at the wrong steps.
    before = compiled("exit\n").version
    monkeypatch.setattr(compiler_module, "STEP_ID_SCHEME", STEP_ID_SCHEME + 1)
    after = compiled("exit\n").version
    assert after != before
    assert compiled("exit\n").version == after


NESTED = (
    "step weekly\n"
    'if in segment "A":\n'
    '    add to list "X"\n'
    'else if in segment "B":\n'
    "    wait 1 day\n"
    "    split 50% / 50%:\n"
    "        path:\n"
    "            exit\n"
    "        path:\n"
    "            step late\n"
    '            add to list "Y"\n'
    "            go to weekly\n"
    "else:\n"
    "    exit\n"
    "wait 1 week\n"
    "go to weekly\n"
)


def test_nested_ids_follow_their_block_and_a_labelled_opener_lends_its_label() -> None:
    journey = compiled(NESTED)
    assert list(journey.steps) == [
        "weekly",
        "weekly.yes.1",
        "weekly.else-if.1",
        "weekly.else-if.1.yes.1",
        "weekly.else-if.1.yes.2",
        "weekly.else-if.1.yes.2.path1.1",
        "late",
        "weekly.else.1",
        "2",
        END,
    ]
    assert nexts(journey)["late"] == {"next": "weekly"}
    assert journey.steps["weekly.else-if.1"].text == 'if in segment "B"'


def test_each_step_reads_as_its_line_in_the_formatted_file() -> None:
    source = HEAD + NESTED
    lines = {
        line.strip().rstrip(":").removeprefix("else ")
        for line in format_source(source).splitlines()
    }
    journey = compiled(NESTED)
    assert {s.text for s in journey.steps.values() if s.id != END} <= lines


def test_the_walk_the_checker_reads_passes_every_compiled_step_in_order() -> None:
    places = list(walk(parse(HEAD + NESTED).steps))
    steps = [p.step_id for p in places if not isinstance(p.node, Label | GoTo)]
    assert [*steps, END] == list(compiled(NESTED).steps)
    labels = {p.node.name: p.step_id for p in places if isinstance(p.node, Label)}
    assert labels == {"weekly": "weekly", "late": "late"}


def test_empty_journey_starts_at_end() -> None:
    journey = compiled("")
    assert journey.start == END
    assert list(journey.steps) == [END]
