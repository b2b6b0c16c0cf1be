"""Property tests: the parser never crashes, the formatter is idempotent and never
changes meaning.

Valid journeys are generated as syntax trees, printed with the formatter and parsed
back; invalid input is arbitrary text and random mutations of valid journeys.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from journey.dsl import JourneyError, compile_source, format_source, parse, parse_condition
from journey.dsl.formatter import format_journey
from journey.dsl.syntax import (
    AddedToList,
    AddTask,
    AddToList,
    AllOf,
    AnyOf,
    AssignLead,
    AssignLeadToGroup,
    Branch,
    CampaignMemberStatusChanged,
    CampaignStatusCondition,
    Condition,
    CreateOpportunity,
    EnteredSegment,
    EntryRule,
    Exit,
    FieldChanged,
    FieldCondition,
    FormSubmitted,
    Goal,
    GoTo,
    If,
    InList,
    InSegment,
    Journey,
    Label,
    Not,
    RecordTypeCondition,
    RemoveFromList,
    SendNotification,
    SetMemberStatus,
    Split,
    Statement,
    UpdateField,
    UpdateSalesforceField,
    Wait,
    WaitUntil,
)
from journey.dsl.text import condition_text

# Any text a string literal can hold: everything but line breaks.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=12,
)
optional_texts = st.none() | texts
labels = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True).filter(
    lambda name: name.lower() != "end"
)
numbers = st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,2})?", fullmatch=True)
dates = st.from_regex(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]", fullmatch=True)
counts = st.integers(min_value=0, max_value=999)
units = st.sampled_from(["minutes", "hours", "days", "weeks"])

field_conditions = st.one_of(
    st.builds(
        FieldCondition,
        texts,
        st.sampled_from(["is", "is not", "contains", "starts with"]),
        texts,
    ),
    st.builds(
        FieldCondition,
        texts,
        st.sampled_from(["is empty", "is not empty", "is true", "is false"]),
        st.none(),
    ),
    st.builds(FieldCondition, texts, st.sampled_from([">", ">=", "<", "<="]), numbers | dates),
)
leaf_conditions = st.one_of(
    field_conditions,
    st.builds(InList, texts),
    st.builds(InSegment, texts),
    st.builds(RecordTypeCondition, st.sampled_from(["lead", "contact"])),
    st.builds(CampaignStatusCondition, texts, texts),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaf_conditions,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(AllOf, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(AnyOf, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=5,
)

triggers = st.one_of(
    st.builds(FormSubmitted, texts),
    st.builds(AddedToList, texts),
    st.builds(EnteredSegment, texts),
    st.builds(FieldChanged, texts, optional_texts),
    st.builds(CampaignMemberStatusChanged, texts, optional_texts),
)
entries = st.one_of(
    st.builds(EntryRule, st.sampled_from(["once", "always"]), st.none()),
    st.builds(EntryRule, st.just("once every"), st.integers(min_value=0, max_value=500)),
)
actions = st.one_of(
    st.builds(AddToList, texts),
    st.builds(RemoveFromList, texts),
    st.builds(UpdateField, texts, texts),
    st.builds(UpdateSalesforceField, texts, texts),
    st.builds(AssignLead, texts, st.booleans(), optional_texts, optional_texts),
    st.builds(AssignLeadToGroup, texts, st.booleans(), optional_texts, optional_texts),
    st.builds(
        lambda subject, due, who, priority: AddTask(
            subject,
            due,
            who if isinstance(who, str) else None,
            who is True,
            priority,
        ),
        texts,
        st.none() | counts,
        st.none() | st.just(True) | texts,
        optional_texts,
    ),
    st.builds(SetMemberStatus, texts, texts),
    st.builds(CreateOpportunity, texts, optional_texts, st.none() | numbers, st.none() | counts),
    st.builds(SendNotification, texts, texts, st.booleans()),
)
simple_statements = st.one_of(
    actions,
    st.builds(Exit),
    st.builds(Wait, counts, units),
    st.builds(WaitUntil, conditions, counts, units),
    st.builds(Label, labels),
    st.builds(GoTo, labels),
)


def _blocks(inner: st.SearchStrategy[Statement]) -> st.SearchStrategy[tuple[Statement, ...]]:
    return st.lists(inner, min_size=1, max_size=3).map(tuple)


def _compound(inner: st.SearchStrategy[Statement]) -> st.SearchStrategy[Statement]:
    branch = st.builds(Branch, conditions, _blocks(inner))
    ifs = st.builds(
        If, st.lists(branch, min_size=1, max_size=3).map(tuple), st.none() | _blocks(inner)
    )
    splits = st.lists(st.tuples(counts, _blocks(inner)), min_size=1, max_size=3).map(
        lambda paths: Split(tuple(s for s, _ in paths), tuple(b for _, b in paths))
    )
    return st.one_of(ifs, splits)


statements: st.SearchStrategy[Statement] = st.recursive(
    simple_statements, lambda inner: inner | _compound(inner), max_leaves=8
)
journeys = st.builds(
    Journey,
    texts,
    st.lists(triggers, max_size=3).map(tuple),
    entries,
    st.lists(st.builds(Goal, texts, conditions), max_size=2).map(tuple),
    st.lists(statements, max_size=5).map(tuple),
)


@given(journeys)
def test_generated_journeys_round_trip(journey: Journey) -> None:
    text = format_journey(journey)
    assert parse(text) == journey
    assert format_source(text) == text


@given(journeys, st.data())
def test_fmt_keeps_meaning_and_is_idempotent_with_comments_and_blank_lines(
    journey: Journey, data: st.DataObject
) -> None:
    lines = format_journey(journey).split("\n")[:-1]
    for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(lines)))
        extra = data.draw(st.sampled_from(["", "   ", "# a note", "    # indented note", "  #"]))
        lines.insert(at, extra)
    for index in data.draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=3)):
        if lines and lines[index].strip() and not lines[index].lstrip().startswith("#"):
            lines[index] += "  # trailing"
    text = "\n".join(lines) + "\n"
    formatted = format_source(text)
    assert parse(formatted) == parse(text)
    assert format_source(formatted) == formatted
    assert formatted.count("#") >= text.count("# ")


@given(st.text(max_size=300))
def test_arbitrary_text_gives_diagnostics_not_exceptions(text: str) -> None:
    compiled, diagnostics = compile_source(text)
    assert compiled is not None or any(d.severity == "error" for d in diagnostics)
    try:
        format_source(text)
    except JourneyError as exc:
        problems = exc.diagnostics
        assert problems


def _mutate(text: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["delete", "insert", "swap", "duplicate", "indent"]))
    if not text:
        return text
    at = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    if kind == "delete":
        return text[:at] + text[at + 1 :]
    if kind == "insert":
        return text[:at] + data.draw(st.sampled_from(list(' \t"\\:#%()\nxé0'))) + text[at:]
    lines = text.split("\n")
    i = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    j = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    if kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[j])
    else:
        lines[i] = "  " + lines[i]
    return "\n".join(lines)


@given(journeys, st.data())
def test_mutated_journeys_give_diagnostics_not_exceptions(
    journey: Journey, data: st.DataObject
) -> None:
    text = format_journey(journey)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        text = _mutate(text, data)
    _, diagnostics = compile_source(text, "mutated.journey")
    assert all(d.line >= 1 for d in diagnostics)
    assert all(d.column >= 1 for d in diagnostics)
    try:
        formatted = format_source(text)
    except JourneyError:
        return
    assert format_source(formatted) == formatted


@given(conditions)
def test_conditions_round_trip_through_parse_condition(condition: Condition) -> None:
    assert parse_condition(condition_text(condition)) == condition


@given(st.text(max_size=120))
def test_parse_condition_raises_only_journey_errors(text: str) -> None:
    try:
        parse_condition(text)
    except JourneyError as exc:
        problems = exc.diagnostics
        assert problems
