"""An effect result's JSON (``connectors.base.result_to_json``): a result with only its key
and status is written without the encoder, and must read back and compare as the
encoder's text does."""

from __future__ import annotations

from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from journey.connectors.base import (
    ContactChanges,
    EffectResult,
    EffectStatus,
    RecordChange,
    encoded_result,
    result_from_json,
    result_to_json,
)

STATUSES = st.sampled_from(get_args(EffectStatus))


@given(st.text(), STATUSES)
def test_a_plain_result_is_the_encoders_text(key: str, status: EffectStatus) -> None:
    result = EffectResult(key, status)
    assert result_to_json(result) == encoded_result(result)
    assert result_from_json(result_to_json(result)) == result


@given(st.text(), STATUSES, st.text(min_size=1))
def test_a_result_with_more_is_all_written(key: str, status: EffectStatus, text: str) -> None:
    for result in (
        EffectResult(key, status, why=text),
        EffectResult(key, status, error_code="X", message=text),
        EffectResult(key, status, changes=ContactChanges(fields={"Rating": text})),
        EffectResult(key, status, records=(RecordChange("Lead", "00Q", "create"),)),
    ):
        assert result_to_json(result) == encoded_result(result)
        assert result_from_json(result_to_json(result)) == result
