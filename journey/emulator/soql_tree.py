"""The SOQL query tree the parser builds (``emulator.soql``) and binding reads
(``emulator.evaluate``), and the refusal a malformed query gets.

Pipeline position: ``soql`` builds these, ``evaluate``/``conditions`` bind them to the
schema. Frozen, so a parsed shape can be cached and shared (``soql.parse_query``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "And",
    "Comparison",
    "Condition",
    "FieldPath",
    "Literal",
    "Not",
    "Or",
    "OrderItem",
    "Query",
    "SemiJoin",
    "SoqlError",
    "TypeOf",
]


class SoqlError(ValueError):
    """A query Salesforce would refuse; ``code`` is the errorCode a client sees."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FieldPath:
    """``Email`` or ``Owner.Name``: relationship names, then a field."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    """A value in a condition. ``kind``: string, number, date, datetime, date_literal,
    null, boolean."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    """``field op value``; op is one of = != < > <= >= LIKE IN NOT IN."""

    field: FieldPath
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


@dataclass(frozen=True)
class SemiJoin:
    """``field IN (SELECT …)`` (a semi-join) or ``field NOT IN (SELECT …)`` (an anti-join)."""

    field: FieldPath
    negated: bool
    query: Query


Condition = Comparison | And | Or | Not | SemiJoin


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class TypeOf:
    """``TYPEOF What WHEN Account THEN Phone … ELSE Name END``: per object type of a
    polymorphic relationship, the fields to select."""

    relationship: str
    whens: tuple[tuple[str, tuple[FieldPath, ...]], ...]
    otherwise: tuple[FieldPath, ...]


@dataclass(frozen=True)
class Query:
    """A SELECT; in a parent-to-child subquery ``sobject`` is the child relationship name
    (``Contacts``)."""

    sobject: str
    fields: tuple[FieldPath, ...]
    count: bool
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    children: tuple[Query, ...] = ()
    typeofs: tuple[TypeOf, ...] = ()
