"""The feed's JSON: ``to_json`` is ``json.dumps(sort_keys=True)`` whatever the value,
including the one-key values whose text it keeps (a True is not a 1, nor a "1")."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from journey.engine import batch_writes
from journey.engine.batch_writes import to_json

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(st.dictionaries(st.text(max_size=3), VALUES, max_size=3), max_size=6))
def test_the_feed_json_is_json_dumps_sorted(values: list[dict[str, Any]]) -> None:
    for value in values + values:  # the second time from what was kept, if it was
        assert to_json(value) == json.dumps(value, sort_keys=True)


def test_one_key_values_that_compare_equal_keep_their_own_text() -> None:
    for value in ({"k": True}, {"k": 1}, {"k": "1"}, {"k": [1]}, {"k": ["1"]}, {"k": [True]}):
        assert to_json(value) == json.dumps(value, sort_keys=True)
        assert to_json(dict(value)) == json.dumps(value, sort_keys=True)


def test_the_kept_texts_stay_bounded() -> None:
    for bucket in range(batch_writes._ONE_KEY_MAX * 2):
        assert to_json({"bucket": bucket}) == f'{{"bucket": {bucket}}}'
    assert len(batch_writes._ONE_KEY) <= batch_writes._ONE_KEY_MAX


@given(st.text(), st.lists(st.text(), max_size=4))
def test_a_list_of_texts_is_written_as_json_dumps_writes_it(key: str, reasons: list[str]) -> None:
    """A condition's reasons (each contact's own values, quotes and accents among them)."""
    assert to_json({key: reasons}) == json.dumps({key: reasons}, sort_keys=True)
