"""The dry run's contacts streamed from a CSV are the import's contacts: the same merges of
rows sharing an email or a Salesforce ID, the same numbers, the same refused rows — and a
contact is let go before the file ends, so a long file is never held whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from journey.engine.contact import ContactView
from journey.engine.csv_rows import BAD_ROW
from journey.engine.dryrun_contacts import stream_views, views_streamed
from journey.engine.intake import RowError, views_from_rows
from journey.salesforce_ids import case_safe
from tests.engine.engine_helpers import context

LEADS = ["00Q000000000001", "00Q000000000002", "003000000000003"]
IDS = st.sampled_from(["", *LEADS, *(case_safe(i) for i in LEADS), "001000000000009"])
EMAILS = st.sampled_from(["", "a@x.example", "A@X.example", "b@x.example", "c@x.example"])
ROW = st.one_of(
    st.fixed_dictionaries(
        {
            "Email": EMAILS,
            "Salesforce ID": IDS,
            "Score": st.sampled_from(["", "1", "70", "lots"]),
            "First Name": st.sampled_from(["", "Ann", "Bo"]),
        }
    ),
    st.just({BAD_ROW: "unbalanced quote"}),
)


def shape(views: list[ContactView]) -> list[tuple[Any, ...]]:
    return [(v.id, v.email, v.fields, v.lists, v.salesforce_id, v.salesforce_type) for v in views]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROW, max_size=30))
def test_streamed_contacts_are_the_imports_contacts(rows: list[dict[str, str]]) -> None:
    numbered = [(line, row) for line, row in enumerate(rows, start=2)]
    expected, expected_errors = views_from_rows(numbered, context())
    errors: list[RowError] = []
    streamed = list(views_streamed(lambda: numbered, context(), errors))
    assert shape(streamed) == shape(expected)
    assert errors == expected_errors


def test_a_contact_is_let_go_once_no_later_row_can_be_it(tmp_path: Path) -> None:
    lines = ["Email,First Name"] + [f"p{i}@x.example,P{i}" for i in range(50)]
    lines.insert(3, "p40@x.example,Forty")  # p40's first row, merged with line 42's
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    errors: list[RowError] = []
    stream: Iterator[ContactView] = stream_views(path, context(), errors)
    first = next(stream)  # p0, handed on before the file is read to its end
    assert (first.id, first.email) == (1, "p0@x.example")
    rest = list(stream)
    assert [v.id for v in [first, *rest]] == list(range(1, 51))
    [forty] = [v for v in rest if v.email == "p40@x.example"]
    assert (forty.id, forty.get("First Name")) == (3, "P40")  # made third, the later row wins
    assert errors == []
