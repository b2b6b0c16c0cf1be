"""SOQL literals in the form a field's values compare with, refusing mismatched types.

Pipeline position: used by ``conditions`` when it binds a comparison and by ``evaluate``
for sorting. Text compares without case, numbers as numbers, IDs in their 18-character
form, date literals as the ``[start, end)`` range of ``date_literals`` (midnight UTC for
dateTime fields), so one comparison serves every record of a query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from journey.emulator.date_literals import date_range
from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef
from journey.emulator.soql import Literal, SoqlError
from journey.emulator.values import format_datetime, parse_datetime

__all__ = ["comparable", "key_function", "like_pattern", "type_refusal"]


def key_function(field: FieldDef) -> Callable[[Any], Any]:
    """How ``field``'s values compare and sort: text without case, numbers as numbers."""
    if field.type in ("id", "reference"):
        return lambda v: v
    if field.type in TEXT_TYPES:
        return lambda v: str(v).casefold()
    if field.type in NUMBER_TYPES:
        return float
    return lambda v: v


def type_refusal(field: FieldDef, wanted: str, quoted: bool) -> SoqlError:
    enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SoqlError(
        f"value of filter criterion for field '{field.name}' must be of type {wanted} and "
        f"{enclosed}",
        "INVALID_FIELD",
    )


def comparable(field: FieldDef, literal: Literal, today: date, op: str) -> Any:
    """The comparable form of ``literal`` for ``field``, refusing mismatched types."""
    kind, value = literal.kind, literal.value
    if kind == "null":
        return None
    if field.type in ("id", "reference"):
        if kind != "string":
            raise type_refusal(field, "id", quoted=True)
        try:
            return to_18(value)
        except InvalidIdError:
            raise SoqlError(f"invalid ID field: {value}", "INVALID_QUERY_FILTER_OPERATOR") from None
    if field.type in TEXT_TYPES:
        if kind != "string":
            raise type_refusal(field, "string", quoted=True)
        return str(value).casefold()
    if field.type in NUMBER_TYPES:
        if kind != "number":
            raise type_refusal(field, "double", quoted=False)
        return float(value)
    if field.type == "date":
        if kind == "date":
            return value
        if kind == "date_literal" and op not in ("IN", "NOT IN"):
            start, end = _literal_range(str(value), today)
            return (start.isoformat(), end.isoformat())
        raise type_refusal(field, "date", quoted=False)
    if field.type == "datetime":
        if kind == "datetime":
            return format_datetime(parse_datetime(str(value)))
        if kind == "date_literal" and op not in ("IN", "NOT IN"):
            start, end = _literal_range(str(value), today)
            return (_midnight(start), _midnight(end))
        raise type_refusal(field, "dateTime", quoted=False)
    raise type_refusal(field, field.type, quoted=False)


def _literal_range(literal: str, today: date) -> tuple[date, date]:
    found = date_range(literal, today)
    if found is None:
        raise SoqlError(
            f"date literal {literal} is not supported by the emulated org (it has no fiscal "
            "year settings)",
            "MALFORMED_QUERY",
        )
    return found


def _midnight(day: date) -> str:
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC))


def like_pattern(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.compile(out, re.IGNORECASE | re.DOTALL)
