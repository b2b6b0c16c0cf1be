"""Runs a parsed SOQL query over records: name binding, filtering, ordering, projection.

Pipeline position: after ``soql`` (text → tree), before the REST/Bulk layers shape the
answer. Binding checks every name against the schema first, so an unknown object or field
is refused (``INVALID_TYPE`` / ``INVALID_FIELD``) before any record is read — as Salesforce
does. Semantics follow SOQL, not SQL: text comparisons ignore case, ``!=`` and ``NOT IN``
also match blanks, and values of the wrong type for a field are refused, not coerced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.schema import (
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    ObjectDef,
    Schema,
)
from journey.emulator.soql import (
    And,
    Comparison,
    Condition,
    FieldPath,
    Literal,
    Not,
    Or,
    Query,
    SoqlError,
)
from journey.emulator.values import format_datetime, parse_datetime

__all__ = [
    "BoundPath",
    "BoundQuery",
    "CachingReader",
    "Predicate",
    "RecordReader",
    "bind",
    "bind_condition",
]

Record = Mapping[str, Any]


class RecordReader(Protocol):
    """Reads a parent record (with formula values) for relationship paths like Owner.Name."""

    def read(self, record_id: str) -> tuple[ObjectDef, Record] | None: ...


class CachingReader:
    """Parent lookups for one query or one rule evaluation: each parent is read once, since
    a thousand Leads of one owner name the same User a thousand times."""

    def __init__(self, reader: RecordReader) -> None:
        self._reader = reader
        self._cache: dict[str, tuple[ObjectDef, Record] | None] = {}

    def read(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        if record_id not in self._cache:
            self._cache[record_id] = self._reader.read(record_id)
        return self._cache[record_id]


Predicate = Callable[[Record, RecordReader], bool]


@dataclass(frozen=True)
class BoundPath:
    """A field path checked against the schema; ``hops`` are reference-field names."""

    hops: tuple[tuple[str, str], ...]  # (reference field, relationship name) per hop
    field: FieldDef

    def value(self, record: Record, reader: RecordReader) -> Any:
        current = record
        for reference, _ in self.hops:
            parent_id = current.get(reference)
            found = reader.read(parent_id) if parent_id else None
            if found is None:
                return None
            current = found[1]
        return current.get(self.field.name)


@dataclass(frozen=True)
class BoundQuery:
    """A query ready to run against one object's records."""

    sobject: ObjectDef
    fields: tuple[BoundPath, ...]
    count: bool
    where: Predicate | None
    order: tuple[tuple[BoundPath, bool, bool], ...]
    limit: int | None
    offset: int | None

    def run(self, records: Iterable[Record], reader: RecordReader) -> list[Record]:
        """Filter, order and page ``records`` (not yet projected)."""
        where = self.where
        rows = [r for r in records if where is None or where(r, reader)]
        for path, descending, nulls_last in reversed(self.order):
            rows.sort(key=_sort_key(path, reader, descending, nulls_last), reverse=descending)
        start = self.offset or 0
        return rows[start : start + self.limit if self.limit is not None else None]

    def project(self, record: Record, reader: RecordReader, version: str) -> dict[str, Any]:
        """The record as the REST API returns it: attributes, then the selected fields."""
        out: dict[str, Any] = {"attributes": _attributes(self.sobject.name, record, version)}
        for path in self.fields:
            target = out
            current: Record | None = record
            for reference, relationship in path.hops:
                parent_id = current.get(reference) if current is not None else None
                found = reader.read(parent_id) if parent_id else None
                if found is None:
                    target[relationship] = None
                    current = None
                    break
                existing = target.get(relationship)
                if not isinstance(existing, dict):
                    existing = {"attributes": _attributes(found[0].name, found[1], version)}
                    target[relationship] = existing
                target, current = existing, found[1]
            else:
                target[path.field.name] = current.get(path.field.name) if current else None
        return out

    def column_names(self) -> list[str]:
        """CSV column names for Bulk API results (``Owner.Name``)."""
        return [".".join([*(r for _, r in p.hops), p.field.name]) for p in self.fields]


def _attributes(sobject: str, record: Record, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}


def bind(query: Query, schema: Schema, today: date) -> BoundQuery:
    """Check ``query`` against ``schema``; refuse unknown names like Salesforce does."""
    sobject = schema.get(query.sobject)
    if sobject is None or not sobject.queryable:
        raise SoqlError(
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name.",
            "INVALID_TYPE",
        )
    if query.offset is not None and query.offset > 2000:
        raise SoqlError(
            f"Maximum SOQL offset allowed is 2000 (got {query.offset})",
            "NUMBER_OUTSIDE_VALID_RANGE",
        )
    seen: set[str] = set()
    fields = []
    for path in query.fields:
        if path.text.lower() in seen:
            raise SoqlError(f"duplicate field selected: {path.text}", "MALFORMED_QUERY")
        seen.add(path.text.lower())
        fields.append(_bind_path(path, sobject, schema))
    order = tuple(
        (_bind_path(item.field, sobject, schema), item.descending, item.nulls_last)
        for item in query.order
    )
    where = bind_condition(query.where, sobject, schema, today) if query.where else None
    return BoundQuery(sobject, tuple(fields), query.count, where, order, query.limit, query.offset)


def _no_column(name: str, sobject: str) -> SoqlError:
    return SoqlError(
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
        "INVALID_FIELD",
    )


def _bind_path(path: FieldPath, sobject: ObjectDef, schema: Schema) -> BoundPath:
    candidates = [sobject]
    hops: list[tuple[str, str]] = []
    for relationship in path.parts[:-1]:
        reference = next(
            (f for o in candidates if (f := o.relationship(relationship)) is not None), None
        )
        if reference is None:
            raise SoqlError(
                f"Didn't understand relationship '{relationship}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after "
                "the custom relationship name.",
                "INVALID_FIELD",
            )
        assert reference.relationship_name is not None
        hops.append((reference.name, reference.relationship_name))
        candidates = [o for t in reference.reference_to if (o := schema.get(t)) is not None]
    name = path.parts[-1]
    field = next((f for o in candidates if (f := o.field(name)) is not None), None)
    if field is None:
        raise _no_column(name, candidates[0].name if candidates else sobject.name)
    return BoundPath(tuple(hops), field)


def bind_condition(
    condition: Condition, sobject: ObjectDef, schema: Schema, today: date
) -> Predicate:
    """A predicate for ``condition`` on ``sobject``'s records (also used by assignment rules)."""
    if isinstance(condition, And):
        parts = [bind_condition(p, sobject, schema, today) for p in condition.parts]
        return lambda r, reader: all(p(r, reader) for p in parts)
    if isinstance(condition, Or):
        parts = [bind_condition(p, sobject, schema, today) for p in condition.parts]
        return lambda r, reader: any(p(r, reader) for p in parts)
    if isinstance(condition, Not):
        inner = bind_condition(condition.part, sobject, schema, today)
        return lambda r, reader: not inner(r, reader)
    return _bind_comparison(condition, sobject, schema, today)


def _bind_comparison(
    comparison: Comparison, sobject: ObjectDef, schema: Schema, today: date
) -> Predicate:
    path = _bind_path(comparison.field, sobject, schema)
    field = path.field
    key = _key_function(field)
    op = comparison.op
    if op in ("IN", "NOT IN"):
        assert isinstance(comparison.value, tuple)
        members = {_literal(field, v, today, op) for v in comparison.value}
        if op == "IN":
            return lambda r, reader: (v := path.value(r, reader)) is not None and key(v) in members
        return lambda r, reader: (v := path.value(r, reader)) is None or key(v) not in members
    assert isinstance(comparison.value, Literal)
    literal = comparison.value
    if op == "LIKE":
        if field.type not in TEXT_TYPES or literal.kind != "string":
            raise SoqlError(
                f"invalid operator on field '{field.name}': LIKE needs a text field and a "
                "quoted pattern",
                "INVALID_FIELD",
            )
        pattern = _like_pattern(str(literal.value))
        return lambda r, reader: (
            (v := path.value(r, reader)) is not None and bool(pattern.fullmatch(str(v)))
        )
    target = _literal(field, literal, today, op)
    if isinstance(target, tuple):  # a date literal: a half-open range [start, end)
        start, end = target
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda k: start <= k < end,
            "!=": lambda k: not start <= k < end,
            "<": lambda k: k < start,
            "<=": lambda k: k < end,
            ">": lambda k: k >= end,
            ">=": lambda k: k >= start,
        }
        test = tests[op]
        return lambda r, reader: (v := path.value(r, reader)) is not None and test(key(v))
    if target is None:
        if op == "=":
            return lambda r, reader: path.value(r, reader) is None
        if op == "!=":
            return lambda r, reader: path.value(r, reader) is not None
        return lambda r, reader: False
    if op == "!=":
        return lambda r, reader: (v := path.value(r, reader)) is None or key(v) != target
    compare: Callable[[Any], bool] = {
        "=": lambda k: k == target,
        "<": lambda k: k < target,
        "<=": lambda k: k <= target,
        ">": lambda k: k > target,
        ">=": lambda k: k >= target,
    }[op]
    return lambda r, reader: (v := path.value(r, reader)) is not None and compare(key(v))


def _key_function(field: FieldDef) -> Callable[[Any], Any]:
    if field.type in ("id", "reference"):
        return lambda v: v
    if field.type in TEXT_TYPES:
        return lambda v: str(v).casefold()
    if field.type in NUMBER_TYPES:
        return float
    return lambda v: v


def _type_refusal(field: FieldDef, wanted: str, quoted: bool) -> SoqlError:
    enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SoqlError(
        f"value of filter criterion for field '{field.name}' must be of type {wanted} and "
        f"{enclosed}",
        "INVALID_FIELD",
    )


def _literal(field: FieldDef, literal: Literal, today: date, op: str) -> Any:
    """The comparable form of ``literal`` for ``field``, refusing mismatched types."""
    kind, value = literal.kind, literal.value
    if kind == "null":
        return None
    if field.type in ("id", "reference"):
        if kind != "string":
            raise _type_refusal(field, "id", quoted=True)
        try:
            return to_18(value)
        except InvalidIdError:
            raise SoqlError(f"invalid ID field: {value}", "INVALID_QUERY_FILTER_OPERATOR") from None
    if field.type in TEXT_TYPES:
        if kind != "string":
            raise _type_refusal(field, "string", quoted=True)
        return str(value).casefold()
    if field.type == "boolean":
        if kind != "boolean":
            raise _type_refusal(field, "boolean", quoted=False)
        return value
    if field.type in NUMBER_TYPES:
        if kind != "number":
            raise _type_refusal(field, "double", quoted=False)
        return float(value)
    if field.type == "date":
        if kind == "date":
            return value
        if kind == "date_literal" and op not in ("IN", "NOT IN"):
            start, end = _date_range(str(value), today)
            return (start.isoformat(), end.isoformat())
        raise _type_refusal(field, "date", quoted=False)
    if field.type == "datetime":
        if kind == "datetime":
            return format_datetime(parse_datetime(str(value)))
        if kind == "date_literal" and op not in ("IN", "NOT IN"):
            start, end = _date_range(str(value), today)
            return (_midnight(start), _midnight(end))
        raise _type_refusal(field, "dateTime", quoted=False)
    raise _type_refusal(field, field.type, quoted=False)


def _midnight(day: date) -> str:
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC))


def _date_range(literal: str, today: date) -> tuple[date, date]:
    one = timedelta(days=1)
    if literal == "TODAY":
        return today, today + one
    if literal == "YESTERDAY":
        return today - one, today
    if literal == "TOMORROW":
        return today + one, today + 2 * one
    name, _, count = literal.partition(":")
    days = int(count)
    if name == "LAST_N_DAYS":  # Salesforce: today and the n-1 days before it... plus n
        return today - days * one, today + one
    return today + one, today + (days + 1) * one  # NEXT_N_DAYS


def _like_pattern(pattern: str) -> re.Pattern[str]:
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


def _sort_key(
    path: BoundPath, reader: RecordReader, descending: bool, nulls_last: bool
) -> Callable[[Record], tuple[int, Any]]:
    key = _key_function(path.field)
    # With reverse=True the ranks flip, so pick the rank that lands nulls where asked.
    null_rank = (0 if nulls_last else 1) if descending else (1 if nulls_last else 0)

    def sort_key(record: Record) -> tuple[int, Any]:
        value = path.value(record, reader)
        if value is None:
            return (null_rank, 0)
        return (1 - null_rank, key(value))

    return sort_key
