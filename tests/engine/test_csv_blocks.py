"""A CSV file reads the same whatever the size of the blocks it is decoded in.

``csv_rows`` decodes a file a block of whole lines at a time and falls back to one line at
a time where a block holds a byte that is not UTF-8 or a NUL; a record may span blocks (a
quoted value with line breaks), and an unbalanced quote sends lines back to be read again
across a block's end. On random files of those pieces, tiny blocks (a few bytes, so every
line and record crosses one) give exactly the rows and refusals one block for the whole
file gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey.engine import csv_rows

PIECES = [
    "a@x.example",
    "Ann",
    '"Acme, Inc."',
    '"two\nlines"',
    '"say ""hi"""',
    '"never closed',
    'bad"quote',
    "",
    " ",
    "caf\u00e9",
    "\u2028",
]
ENDS = ["\n", "\r\n", "\r"]
RAW = [b"\xff", b"\x00", b"\xc3"]

cell = st.sampled_from(PIECES).map(str.encode) | st.sampled_from(RAW)
line = st.tuples(
    st.lists(cell, min_size=1, max_size=4).map(b",".join),
    st.sampled_from(ENDS).map(str.encode),
)
files = st.lists(line, max_size=12).map(lambda ls: b"".join(text + end for text, end in ls))


def read(path: Path) -> list[tuple[int, list[str] | str]]:
    try:
        header, rows = csv_rows.read_records(path)
    except csv_rows.IntakeError as exc:
        return [(0, str(exc))]
    return [(0, header), *rows]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=files, block=st.integers(min_value=1, max_value=9))
def test_blocks_of_any_size_read_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes, block: int
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"Email,First Name,Company\n" + body)
    monkeypatch.setattr(csv_rows, "BLOCK", 1 << 20)
    whole = read(path)
    monkeypatch.setattr(csv_rows, "BLOCK", block)
    assert read(path) == whole
