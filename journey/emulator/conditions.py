"""WHERE conditions bound to the schema: field paths, comparisons, semi- and anti-joins.

Pipeline position: ``evaluate`` binds a query's WHERE (and each subquery's) here, and
``assignment`` binds rule criteria. Binding checks every name and value first, so an
unknown field or a mistyped value is refused (``INVALID_FIELD``) before a record is read.
Semantics follow SOQL, not SQL: text comparisons ignore case, ``!=`` and ``NOT IN`` also
match blanks, a checkbox is never null (``= null`` is ``= false``), and a polymorphic
relationship (``Lead.Owner``: a User or a queue) offers only the fields of Salesforce's
``Name`` object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from journey.emulator.literals import comparable, key_function, like_pattern, type_refusal
from journey.emulator.schema import TEXT_TYPES, FieldDef, ObjectDef, Schema
from journey.emulator.soql import (
    And,
    Comparison,
    Condition,
    FieldPath,
    Literal,
    Not,
    Or,
    SemiJoin,
    SoqlError,
)

__all__ = [
    "BoundPath",
    "CachingReader",
    "Predicate",
    "RecordReader",
    "RecordSource",
    "bind_condition",
    "bind_path",
    "no_relationship",
]

Record = Mapping[str, Any]
T = TypeVar("T")


class RecordSource(Protocol):
    """The org, as a query reads it: one record by ID, or every live record of an object."""

    def read(self, record_id: str) -> tuple[ObjectDef, Record] | None: ...

    def rows(self, sobject: str) -> Iterable[Record]: ...


class RecordReader(RecordSource, Protocol):
    """A source for one query or rule evaluation, with a memo for what it computes once
    (a semi-join's IDs, a child subquery's records by parent)."""

    def memo(self, key: object, compute: Callable[[], T]) -> T: ...


class CachingReader:
    """Parent lookups and subquery results for one query or one rule evaluation: each
    parent is read once, since a thousand Leads of one owner name the same User a
    thousand times, and a semi-join's subquery runs once, not once per outer record."""

    def __init__(self, source: RecordSource) -> None:
        self._source = source
        self._cache: dict[str, tuple[ObjectDef, Record] | None] = {}
        self._memo: dict[object, Any] = {}

    def read(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        if record_id not in self._cache:
            self._cache[record_id] = self._source.read(record_id)
        return self._cache[record_id]

    def rows(self, sobject: str) -> Iterable[Record]:
        return self._source.rows(sobject)

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]


Predicate = Callable[[Record, RecordReader], bool]

# The fields of the Name object, which is what a polymorphic relationship resolves to
# (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_name.htm).
NAME_FIELDS = frozenset(
    {
        "alias",
        "email",
        "firstname",
        "id",
        "isactive",
        "lastname",
        "lastreferenceddate",
        "lastvieweddate",
        "name",
        "nameoralias",
        "phone",
        "profileid",
        "recordtypeid",
        "title",
        "type",
        "userroleid",
        "username",
    }
)
_NAME_TYPE = FieldDef("Type", "picklist", createable=False, updateable=False)


@dataclass(frozen=True)
class BoundPath:
    """A field path checked against the schema. ``hops``: (reference field, relationship
    name, polymorphic) per step; ``name_type``: the path ends in a polymorphic
    relationship's ``Type`` (``Owner.Type``), the kind of record it points at."""

    hops: tuple[tuple[str, str, bool], ...]
    field: FieldDef
    name_type: bool = False

    def value(self, record: Record, reader: RecordReader) -> Any:
        current, sobject = record, None
        for reference, _, _ in self.hops:
            parent_id = current.get(reference)
            found = reader.read(parent_id) if parent_id else None
            if found is None:
                return None
            sobject, current = found
        return self.leaf(sobject, current)

    def leaf(self, sobject: ObjectDef | None, record: Record) -> Any:
        """The field's value on the last record of the path (``sobject`` its object)."""
        if self.name_type and sobject is not None:
            return _name_type(sobject)
        return record.get(self.field.name)


def _name_type(sobject: ObjectDef) -> str:
    """Name.Type: the object of the record, and ``Queue`` for a queue (a Group owning
    records is always a queue)."""
    return "Queue" if sobject.name == "Group" else sobject.name


def _no_column(name: str, sobject: str) -> SoqlError:
    return SoqlError(
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
        "INVALID_FIELD",
    )


def no_relationship(name: str) -> SoqlError:
    return SoqlError(
        f"Didn't understand relationship '{name}' in field path. If you are attempting to "
        "use a custom relationship, be sure to append the '__r' after the custom "
        "relationship name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
        "INVALID_FIELD",
    )


def bind_path(path: FieldPath, sobject: ObjectDef, schema: Schema) -> BoundPath:
    """``path`` on ``sobject``, or Salesforce's refusal of an unknown name."""
    candidates = [sobject]
    hops: list[tuple[str, str, bool]] = []
    polymorphic = False
    for relationship in path.parts[:-1]:
        reference = (
            None if polymorphic or not candidates else candidates[0].relationship(relationship)
        )
        if reference is None:  # past a polymorphic hop only Name's own references go on
            raise no_relationship(relationship)
        assert reference.relationship_name is not None
        polymorphic = len(reference.reference_to) > 1
        hops.append((reference.name, reference.relationship_name, polymorphic))
        candidates = [o for t in reference.reference_to if (o := schema.get(t)) is not None]
    name = path.parts[-1]
    if polymorphic:
        if name.lower() not in NAME_FIELDS:
            raise _no_column(name, "Name")
        if name.lower() == "type":
            return BoundPath(tuple(hops), _NAME_TYPE, name_type=True)
    field = next((f for o in candidates if (f := o.field(name)) is not None), None)
    if field is None:
        owner = "Name" if polymorphic else candidates[0].name if candidates else sobject.name
        raise _no_column(name, owner)
    return BoundPath(tuple(hops), field)


def bind_condition(
    condition: Condition,
    sobject: ObjectDef,
    schema: Schema,
    today: date,
    place: str = "top",
) -> Predicate:
    """A predicate for ``condition`` on ``sobject``'s records. ``place`` is where the
    condition sits, for the semi-join rules: ``top`` (a query's own WHERE, under ANDs),
    ``or``/``not`` (under an OR or a NOT), ``nested`` (inside a subquery)."""
    if isinstance(condition, And):
        parts = [bind_condition(p, sobject, schema, today, place) for p in condition.parts]
        return lambda r, reader: all(p(r, reader) for p in parts)
    if isinstance(condition, Or):
        below = "or" if place == "top" else place
        parts = [bind_condition(p, sobject, schema, today, below) for p in condition.parts]
        return lambda r, reader: any(p(r, reader) for p in parts)
    if isinstance(condition, Not):
        below = "not" if place == "top" else place
        inner = bind_condition(condition.part, sobject, schema, today, below)
        return lambda r, reader: not inner(r, reader)
    if isinstance(condition, SemiJoin):
        return _bind_semi_join(condition, sobject, schema, today, place)
    return _bind_comparison(condition, sobject, schema, today)


# Objects a semi-join's subquery cannot select from ("Semi-Joins with IN and Anti-Joins
# with NOT IN", in the Comparison Operators chapter of the SOQL reference).
_NOT_IN_SEMI_JOINS = frozenset({"task", "event"})


def _malformed(message: str) -> SoqlError:
    return SoqlError(message, "MALFORMED_QUERY")


def _bind_semi_join(
    join: SemiJoin, sobject: ObjectDef, schema: Schema, today: date, place: str
) -> Predicate:
    """``field [NOT] IN (SELECT reference FROM Other WHERE …)`` with Salesforce's limits:
    only in a query's own WHERE under ANDs, the left side an ID or reference field of the
    object itself, the subquery one ID or reference field of another object that points
    at the same kind of record, with no ORDER BY, LIMIT, OFFSET, COUNT or subquery of its
    own (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm)."""
    if place == "or":
        raise _malformed("Semi join sub-selects are not allowed with the 'OR' operator")
    if place != "top":
        raise _malformed(
            "semi join sub-selects are only allowed at the top level WHERE expressions and "
            "not in nested WHERE expressions"
        )
    outer = bind_path(join.field, sobject, schema)
    if outer.hops or outer.field.type not in ("id", "reference"):
        raise _malformed(
            f"semi join sub selects need an ID or reference field of {sobject.name} on the "
            f"left, cannot use: '{join.field.text}'"
        )
    query = join.query
    inner_object = schema.get(query.sobject)
    if inner_object is None or not inner_object.queryable:
        raise SoqlError(f"sObject type '{query.sobject}' is not supported.", "INVALID_TYPE")
    if inner_object.name.lower() in _NOT_IN_SEMI_JOINS:
        raise _malformed(
            f"Entity '{inner_object.name}' is not supported for semi join inner selects"
        )
    if inner_object.name == sobject.name:
        raise _malformed("The inner and outer selects should not be on the same object type")
    if query.count or query.children or query.order or query.limit is not None or query.offset:
        raise _malformed(
            "COUNT, ORDER BY, LIMIT, OFFSET and subqueries are not supported in semi join "
            "sub selects"
        )
    if len(query.fields) != 1:
        raise _malformed("semi join sub selects must select exactly one field")
    inner = bind_path(query.fields[0], inner_object, schema)
    if inner.hops or inner.field.type not in ("id", "reference"):
        raise _malformed(
            f"semi join sub selects can only query id fields, cannot use: '{query.fields[0].text}'"
        )
    if not _targets(outer.field, sobject) & _targets(inner.field, inner_object):
        raise _malformed(
            f"semi join sub select field '{inner.field.name}' of {inner_object.name} does not "
            f"point at the records of '{outer.field.name}'"
        )
    where = (
        bind_condition(query.where, inner_object, schema, today, "nested") if query.where else None
    )

    def selected(reader: RecordReader) -> frozenset[Any]:
        rows = reader.rows(inner_object.name)
        return frozenset(
            value
            for row in rows
            if (where is None or where(row, reader))
            and (value := inner.value(row, reader)) is not None
        )

    negated = join.negated
    key = object()  # this binding's memo slot: the subquery runs once per reader

    def matches(record: Record, reader: RecordReader) -> bool:
        ids = reader.memo(key, lambda: selected(reader))
        value = record.get(outer.field.name)
        return (value is not None and value in ids) != negated

    return matches


def _targets(field: FieldDef, sobject: ObjectDef) -> set[str]:
    return {sobject.name} if field.type == "id" else set(field.reference_to)


def _bind_comparison(
    comparison: Comparison, sobject: ObjectDef, schema: Schema, today: date
) -> Predicate:
    path = bind_path(comparison.field, sobject, schema)
    field = path.field
    op = comparison.op
    if field.type == "boolean" and op != "LIKE":
        return _bind_checkbox(comparison, path)
    key = key_function(field)
    if op in ("IN", "NOT IN"):
        assert isinstance(comparison.value, tuple)
        members = {comparable(field, v, today, op) for v in comparison.value}
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
        pattern = like_pattern(str(literal.value))
        return lambda r, reader: (
            (v := path.value(r, reader)) is not None and bool(pattern.fullmatch(str(v)))
        )
    target = comparable(field, literal, today, op)
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


def _bind_checkbox(comparison: Comparison, path: BoundPath) -> Predicate:
    """A checkbox is true or false, never null: "If you run a query on a boolean field,
    null matches FALSE values" (Use null in WHERE,
    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_null.htm).
    A missing parent's checkbox reads as false too, as a blank does."""
    field, op = path.field, comparison.op
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    wanted = set()
    for literal in values:
        if literal.kind not in ("boolean", "null"):
            raise type_refusal(field, "boolean", quoted=False)
        wanted.add(bool(literal.value))
    if op in ("=", "!=", "IN", "NOT IN"):
        negated = op in ("!=", "NOT IN")
        return lambda r, reader: (bool(path.value(r, reader)) in wanted) != negated
    target = wanted.pop()
    compare: Callable[[bool], bool] = {
        "<": lambda k: k < target,
        "<=": lambda k: k <= target,
        ">": lambda k: k > target,
        ">=": lambda k: k >= target,
    }[op]
    return lambda r, reader: compare(bool(path.value(r, reader)))
