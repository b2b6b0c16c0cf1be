"""Runs a parsed SOQL query over records: binding, filtering, ordering, projection.

Pipeline position: after ``soql`` (text → tree), before the REST/Bulk layers shape the
answer. Binding checks every name against the schema first (``conditions`` binds the
WHERE), so an unknown object or field is refused (``INVALID_TYPE`` / ``INVALID_FIELD``)
before any record is read — as Salesforce does. Parent-to-child subqueries
(``SELECT Id, (SELECT Id FROM Contacts) FROM Account``) name the child relationships
Salesforce's standard objects have (``field_reference.CHILD_RELATIONSHIPS``) and answer,
per parent record, a nested ``{"totalSize", "done", "records"}`` or null when it has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from journey.emulator.conditions import (
    BoundPath,
    CachingReader,
    Predicate,
    RecordReader,
    RecordSource,
    bind_condition,
    bind_path,
    no_relationship,
)
from journey.emulator.field_reference import CHILD_RELATIONSHIPS
from journey.emulator.literals import key_function
from journey.emulator.schema import ObjectDef, Schema
from journey.emulator.soql import (
    And,
    Condition,
    FieldPath,
    Not,
    Or,
    Query,
    SemiJoin,
    SoqlError,
    TypeOf,
)

__all__ = [
    "BoundPath",
    "BoundQuery",
    "CachingReader",
    "Predicate",
    "RecordReader",
    "RecordSource",
    "bind",
    "bind_condition",
]

Record = Mapping[str, Any]

# A query and four levels of children below it: the API 58.0+ depth (Using Relationship
# Queries, above).
_MAX_LEVELS = 5


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
    children: tuple[BoundChild, ...] = ()
    typeofs: tuple[BoundTypeOf, ...] = ()

    def run(self, records: Iterable[Record], reader: RecordReader) -> list[Record]:
        """Filter, order and page ``records`` (not yet projected)."""
        where = self.where
        rows = [r for r in records if where is None or where(r, reader)]
        for path, descending, nulls_last in reversed(self.order):
            rows.sort(key=_sort_key(path, reader, descending, nulls_last), reverse=descending)
        start = self.offset or 0
        return rows[start : start + self.limit if self.limit is not None else None]

    def project(self, record: Record, reader: RecordReader, version: str) -> dict[str, Any]:
        """The record as the REST API returns it: attributes, then the selected fields,
        then each TYPEOF's parent, then each child subquery's records."""
        out: dict[str, Any] = {"attributes": _attributes(self.sobject.name, record, version)}
        for path in self.fields:
            target = out
            current: Record | None = record
            sobject: ObjectDef | None = self.sobject
            for reference, relationship, polymorphic in path.hops:
                parent_id = current.get(reference) if current is not None else None
                found = reader.read(parent_id) if parent_id else None
                if found is None:
                    target[relationship] = None
                    current = None
                    break
                existing = target.get(relationship)
                if not isinstance(existing, dict):
                    # A polymorphic parent is a Name (its url still names the real object).
                    kind = "Name" if polymorphic else found[0].name
                    existing = {"attributes": _attributes(found[0].name, found[1], version)}
                    existing["attributes"]["type"] = kind
                    target[relationship] = existing
                target, (sobject, current) = existing, found
            else:
                target[path.field.name] = path.leaf(sobject, current) if current else None
        for typeof in self.typeofs:
            out[typeof.relationship] = typeof.project(record, reader, version)
        for child in self.children:
            out[child.relationship] = child.result(str(record["Id"]), reader, version)
        return out

    def column_names(self) -> list[str]:
        """CSV column names for Bulk API results (``Owner.Name``)."""
        return [".".join([*(r for _, r, _ in p.hops), p.field.name]) for p in self.fields]


@dataclass(frozen=True, eq=False)  # compared by identity: it keys the reader's memo
class BoundChild:
    """A parent-to-child subquery: ``relationship`` (``Contacts``) selects the records of
    ``query.sobject`` whose ``field`` (``AccountId``) is the parent's ID."""

    relationship: str
    field: str
    query: BoundQuery

    def result(self, parent_id: str, reader: RecordReader, version: str) -> Any:
        """The nested query result for one parent, or None when it has no such children
        ("Understanding Query Results", https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_results.htm)."""
        by_parent = reader.memo(self, lambda: self._by_parent(reader))
        rows = self.query.run(by_parent.get(parent_id, ()), reader)
        if not rows:
            return None
        records = [self.query.project(r, reader, version) for r in rows]
        return {"totalSize": len(records), "done": True, "records": records}

    def _by_parent(self, reader: RecordReader) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = {}
        for row in reader.rows(self.query.sobject.name):
            parent = row.get(self.field)
            if parent:
                grouped.setdefault(str(parent), []).append(row)
        return grouped


@dataclass(frozen=True)
class BoundTypeOf:
    """``TYPEOF What WHEN Account THEN … ELSE … END``: the parent behind ``reference`` comes
    as its own object (not Name) with the fields of the WHEN naming that object, else the
    ELSE fields (Name's)."""

    reference: str
    relationship: str
    whens: tuple[tuple[str, BoundQuery], ...]
    otherwise: tuple[BoundPath, ...]

    def project(self, record: Record, reader: RecordReader, version: str) -> Any:
        parent_id = record.get(self.reference)
        found = reader.read(parent_id) if parent_id else None
        if found is None:
            return None
        sobject, parent = found
        when = next((q for name, q in self.whens if name == sobject.name), None)
        if when is not None:
            return when.project(parent, reader, version)
        out: dict[str, Any] = {"attributes": _attributes(sobject.name, parent, version)}
        for path in self.otherwise:
            out[path.field.name] = path.leaf(sobject, parent)
        return out


def _attributes(sobject: str, record: Record, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}


def bind(query: Query, schema: Schema, today: date) -> BoundQuery:
    """Check ``query`` against ``schema``; refuse what Salesforce refuses."""
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
    if query.count and query.order:
        # "You can't use COUNT() with an ORDER BY clause" (COUNT() and COUNT(fieldName),
        # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm)
        raise SoqlError("COUNT() and ORDER BY may not be used together", "MALFORMED_QUERY")
    if _semi_joins(query.where) > 2:
        # "No more than two IN or NOT IN statements per WHERE clause" (semi-join limits).
        raise SoqlError(
            "a WHERE clause may hold at most 2 semi join or anti join sub-selects",
            "MALFORMED_QUERY",
        )
    return _bind_query(query, sobject, schema, today, "top", 1)


def _bind_query(
    query: Query, sobject: ObjectDef, schema: Schema, today: date, place: str, level: int
) -> BoundQuery:
    seen: set[str] = set()
    fields = []
    for path in query.fields:
        if path.text.lower() in seen:
            raise SoqlError(f"duplicate field selected: {path.text}", "MALFORMED_QUERY")
        seen.add(path.text.lower())
        fields.append(bind_path(path, sobject, schema))
    order = tuple(
        (bind_path(item.field, sobject, schema), item.descending, item.nulls_last)
        for item in query.order
    )
    where = bind_condition(query.where, sobject, schema, today, place) if query.where else None
    children = tuple(
        _bind_child(child, sobject, schema, today, level + 1, query.limit)
        for child in query.children
    )
    typeofs = tuple(_bind_typeof(t, query, sobject, schema) for t in query.typeofs)
    return BoundQuery(
        sobject,
        tuple(fields),
        query.count,
        where,
        order,
        query.limit,
        query.offset,
        children,
        typeofs,
    )


def _bind_typeof(typeof: TypeOf, query: Query, sobject: ObjectDef, schema: Schema) -> BoundTypeOf:
    """TYPEOF's rules (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_typeof.htm):
    a polymorphic relationship field, not also referenced in the field list; each WHEN an
    object it can point at, with that object's fields."""
    reference = sobject.relationship(typeof.relationship)
    if reference is None:
        raise no_relationship(typeof.relationship)
    assert reference.relationship_name is not None
    name = reference.relationship_name
    if len(reference.reference_to) < 2:
        raise SoqlError(
            f"TYPEOF needs a polymorphic relationship field: {name} is not one",
            "MALFORMED_QUERY",
        )
    if any(len(p.parts) > 1 and p.parts[0].lower() == name.lower() for p in query.fields):
        raise SoqlError(
            f"TYPEOF {name}: the relationship is also referenced in the field list",
            "MALFORMED_QUERY",
        )
    whens = []
    for object_name, when_fields in typeof.whens:
        target = schema.get(object_name)
        if target is None or target.name not in reference.reference_to:
            raise SoqlError(
                f"TYPEOF {name}: WHEN {object_name} is not an object {name} can point at",
                "MALFORMED_QUERY",
            )
        paths = tuple(bind_path(f, target, schema) for f in when_fields)
        whens.append((target.name, BoundQuery(target, paths, False, None, (), None, None)))
    otherwise = tuple(
        bind_path(FieldPath((name, *f.parts)), sobject, schema) for f in typeof.otherwise
    )
    return BoundTypeOf(reference.name, name, tuple(whens), otherwise)


def _bind_child(
    query: Query,
    parent: ObjectDef,
    schema: Schema,
    today: date,
    level: int,
    parent_limit: int | None,
) -> BoundChild:
    relationships = {k.lower(): (k, v) for k, v in CHILD_RELATIONSHIPS.get(parent.name, {}).items()}
    found = relationships.get(query.sobject.lower())
    child = schema.get(found[1][0]) if found else None
    if found is None or child is None:
        raise SoqlError(
            f"Didn't understand relationship '{query.sobject}' in FROM part of query call. If "
            "you are attempting to use a custom relationship, be sure to append the '__r' "
            "after the custom relationship name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
            "INVALID_TYPE",
        )
    if level > _MAX_LEVELS:  # the wording is inferred from the pre-58.0 one-level refusal
        raise SoqlError(
            f"SOQL statements cannot query aggregate relationships more than "
            f"{_MAX_LEVELS - 1} levels away from the root entity object.",
            "MALFORMED_QUERY",
        )
    if query.count:
        raise SoqlError("only root queries support aggregate expressions", "MALFORMED_QUERY")
    if query.offset is not None and parent_limit != 1:
        # OFFSET: "A subquery can use OFFSET only if the parent query has a LIMIT 1 clause"
        # (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_offset.htm)
        raise SoqlError("OFFSET in a subquery needs LIMIT 1 on the parent query", "MALFORMED_QUERY")
    name, (_, field) = found
    return BoundChild(name, field, _bind_query(query, child, schema, today, "nested", level))


def _semi_joins(condition: Condition | None) -> int:
    if isinstance(condition, SemiJoin):
        return 1
    if isinstance(condition, (And, Or)):
        return sum(_semi_joins(p) for p in condition.parts)
    if isinstance(condition, Not):
        return _semi_joins(condition.part)
    return 0


def _sort_key(
    path: BoundPath, reader: RecordReader, descending: bool, nulls_last: bool
) -> Callable[[Record], tuple[int, Any]]:
    key = key_function(path.field)
    # With reverse=True the ranks flip, so pick the rank that lands nulls where asked.
    null_rank = (0 if nulls_last else 1) if descending else (1 if nulls_last else 0)

    def sort_key(record: Record) -> tuple[int, Any]:
        value = path.value(record, reader)
        if value is None:
            return (null_rank, 0)
        return (1 - null_rank, key(value))

    return sort_key
