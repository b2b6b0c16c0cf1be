"""SOQL text → a small query tree, with Salesforce-shaped refusals.

Pipeline position: the first stage of ``query``/``queryAll``, Bulk API query jobs and
assignment-rule criteria; ``evaluate`` binds the tree to the schema and runs it. The
grammar lives in ``soql.lark``. A construct outside the subset is refused as Salesforce
refuses a malformed query — ``MALFORMED_QUERY`` with the row, column and the construct's
name — because answering it approximately would make tests built on the emulator lie.
Subqueries are whole ``Query`` trees: a parent-to-child one in ``Query.children``, a
semi-/anti-join as a ``SemiJoin`` condition; what each may contain is checked at binding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedToken, VisitError

from journey.emulator.soql_tree import (
    And,
    Comparison,
    Condition,
    FieldPath,
    Literal,
    Not,
    Or,
    OrderItem,
    Query,
    SemiJoin,
    SoqlError,
    TypeOf,
)
from journey.lark_cache import cache_file

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
    "parse_condition",
    "parse_query",
]


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _unquote(text: str) -> str:
    if "\\" not in text:
        return text[1:-1]
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            # LIKE's \% and \_ stay escaped: the LIKE matcher needs to see them.
            out.append(_ESCAPES.get(nxt, "\\" + nxt if nxt in "%_" else nxt))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


class _Build(Transformer[Token, Any]):
    """Only builds the tree; checking names against the schema is ``evaluate``'s job."""

    def start(self, children: list[Query]) -> Query:
        return children[0]

    def query(self, children: list[Any]) -> Query:
        select, sobject, *rest = children
        parts = {type(p).__name__: p for p in rest}
        limit = parts.get("_Limit")
        offset = parts.get("_Offset")
        items = [] if select is None else list(select)
        return Query(
            sobject=str(sobject),
            fields=tuple(i for i in items if isinstance(i, FieldPath)),
            children=tuple(i.query for i in items if isinstance(i, _Child)),
            typeofs=tuple(i for i in items if isinstance(i, TypeOf)),
            count=select is None,
            where=parts["_Where"].condition if "_Where" in parts else None,
            order=parts["_Order"].items if "_Order" in parts else (),
            limit=limit.value if limit else None,
            offset=offset.value if offset else None,
        )

    def select_list(self, children: list[Any]) -> list[FieldPath | _Child | TypeOf] | None:
        return None if children and children[0] == "COUNT()" else list(children)

    def child_query(self, children: list[Query]) -> _Child:
        return _Child(children[0])

    def typeof(self, children: list[Any]) -> TypeOf:
        relationship, *rest = children
        whens = tuple(w for w in rest if isinstance(w, tuple))
        otherwise = next((o for o in rest if isinstance(o, list)), [])
        return TypeOf(str(relationship), whens, tuple(otherwise))

    def when(self, children: list[Any]) -> tuple[str, tuple[FieldPath, ...]]:
        sobject, *fields = children
        return str(sobject), tuple(fields)

    def otherwise(self, children: list[FieldPath]) -> list[FieldPath]:
        return list(children)

    def count(self, _: list[Any]) -> str:
        return "COUNT()"

    def field(self, children: list[Token]) -> FieldPath:
        return FieldPath(tuple(str(c) for c in children))

    def where(self, children: list[Any]) -> _Where:
        return _Where(children[0])

    def and_chain(self, children: list[Condition]) -> And:
        return And(tuple(children))

    def or_chain(self, children: list[Condition]) -> Or:
        return Or(tuple(children))

    def not_(self, children: list[Condition]) -> Not:
        return Not(children[0])

    @v_args(inline=True)
    def compare(self, field: FieldPath, op: Token, value: Literal) -> Comparison:
        return Comparison(field, "!=" if str(op) == "<>" else str(op), value)

    @v_args(inline=True)
    def like(self, field: FieldPath, value: Literal) -> Comparison:
        return Comparison(field, "LIKE", value)

    @v_args(inline=True)
    def in_(self, field: FieldPath, values: tuple[Literal, ...]) -> Comparison:
        return Comparison(field, "IN", values)

    @v_args(inline=True)
    def not_in(self, field: FieldPath, values: tuple[Literal, ...]) -> Comparison:
        return Comparison(field, "NOT IN", values)

    @v_args(inline=True)
    def semi_join(self, field: FieldPath, query: Query) -> SemiJoin:
        return SemiJoin(field, False, query)

    @v_args(inline=True)
    def anti_join(self, field: FieldPath, query: Query) -> SemiJoin:
        return SemiJoin(field, True, query)

    def value_list(self, children: list[Literal]) -> tuple[Literal, ...]:
        return tuple(children)

    def STRING(self, token: Token) -> Literal:  # noqa: N802  (lark terminal callback)
        return Literal("string", _unquote(str(token)))

    def NUMBER(self, token: Token) -> Literal:  # noqa: N802
        text = str(token)
        return Literal("number", float(text) if "." in text else int(text))

    def DATE(self, token: Token) -> Literal:  # noqa: N802
        return Literal("date", str(token))

    def DATETIME(self, token: Token) -> Literal:  # noqa: N802
        return Literal("datetime", str(token))

    def DATE_LITERAL(self, token: Token) -> Literal:  # noqa: N802
        return Literal("date_literal", str(token).upper())

    def NULL(self, _: Token) -> Literal:  # noqa: N802
        return Literal("null", None)

    def TRUE(self, _: Token) -> Literal:  # noqa: N802
        return Literal("boolean", True)

    def FALSE(self, _: Token) -> Literal:  # noqa: N802
        return Literal("boolean", False)

    def order(self, children: list[OrderItem]) -> _Order:
        return _Order(tuple(children))

    def order_item(self, children: list[Any]) -> OrderItem:
        field = children[0]
        descending = any(isinstance(c, Token) and c.upper() == "DESC" for c in children[1:])
        nulls = [c for c in children[1:] if isinstance(c, str) and c in ("FIRST", "LAST")]
        # "By default, null values are sorted first", ascending or descending (ORDER BY,
        # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm)
        nulls_last = nulls[0] == "LAST" if nulls else False
        return OrderItem(field, descending, nulls_last)

    def nulls(self, children: list[Token]) -> str:
        return str(children[0]).upper()

    def limit(self, children: list[Token]) -> _Limit:
        return _Limit(int(children[0]))

    def offset(self, children: list[Token]) -> _Offset:
        return _Offset(int(children[0]))


@dataclass(frozen=True)
class _Child:
    query: Query


@dataclass(frozen=True)
class _Where:
    condition: Condition


@dataclass(frozen=True)
class _Order:
    items: tuple[OrderItem, ...]


@dataclass(frozen=True)
class _Limit:
    value: int


@dataclass(frozen=True)
class _Offset:
    value: int


@lru_cache(maxsize=2)
def _parser(start: str) -> Lark:
    grammar = (Path(__file__).with_name("soql.lark")).read_text(encoding="utf-8")
    if start == "condition_start":
        grammar += "\ncondition_start: condition\n"
    return Lark(
        grammar,
        cache=cache_file("soql-grammar", grammar),
        parser="lalr",
        start=start,
        maybe_placeholders=False,
    )


# Words that begin constructs outside the subset, and how to name them to the user.
_UNSUPPORTED = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "FOR": "FOR VIEW/UPDATE/REFERENCE",
    "USING": "USING SCOPE",
    "INCLUDES": "INCLUDES (multi-select picklists)",
    "EXCLUDES": "EXCLUDES (multi-select picklists)",
    "SUM": "aggregate function SUM()",
    "AVG": "aggregate function AVG()",
    "MIN": "aggregate function MIN()",
    "MAX": "aggregate function MAX()",
    "COUNT_DISTINCT": "aggregate function COUNT_DISTINCT()",
    "FIELDS": "FIELDS()",
    "CALENDAR_YEAR": "date function CALENDAR_YEAR()",
    "CALENDAR_MONTH": "date function CALENDAR_MONTH()",
    "DAY_ONLY": "date function DAY_ONLY()",
    "TOLABEL": "toLabel()",
    "FORMAT": "FORMAT()",
    "CONVERTCURRENCY": "convertCurrency()",
    "DISTANCE": "DISTANCE()",
    ":": "bind variables",
    "UPDATE": "FOR UPDATE",
}


def _refusal(text: str, error: UnexpectedInput) -> SoqlError:
    line = getattr(error, "line", 1) or 1
    column = getattr(error, "column", 1) or 1
    if isinstance(error, UnexpectedToken):
        token = str(error.token)
    elif isinstance(error, UnexpectedCharacters):
        rest = text.splitlines()[line - 1][column - 1 :] if text else ""
        token = rest.split()[0] if rest.split() else rest[:1]
    else:
        token = "<end of query>"
    word = token.upper().split("(")[0] or token
    construct = _UNSUPPORTED.get(":" if word.startswith(":") else word)
    if construct is None and isinstance(error, UnexpectedToken):
        before = text[: error.token.start_pos or 0].rstrip().upper()
        previous = re.split(r"[\s,]+", before)[-1] if before else ""
        if token == "(" and previous in _UNSUPPORTED:
            construct = _UNSUPPORTED[previous]
        elif (token == "(" and previous == "COUNT") or before.endswith("COUNT("):
            construct = "COUNT(field)"
        elif word.startswith(("LAST_", "NEXT_", "THIS_")):
            construct = f"date literal {word}"
    source = text.splitlines()[line - 1] if text.splitlines() else text
    message = f"\n{source}\n{' ' * (column - 1)}^\nERROR at Row:{line}:Column:{column}\n"
    at_end = isinstance(error, UnexpectedToken) and error.token.type == "$END"
    if isinstance(error, UnexpectedEOF) or at_end:
        message += "unexpected end of query"
    else:
        message += f"unexpected token: '{token}'"
    if construct:
        message += f" ({construct} is not supported by the emulated org)"
    return SoqlError(message)


@lru_cache(maxsize=1)
def _string_literal() -> re.Pattern[str]:
    """The grammar's own ``STRING`` terminal (``soql.lark``): a literal is found exactly as
    the parser reads it. Outside literals SOQL has no quote, so scanning left to right
    finds each literal whole."""
    return re.compile(_parser("start").get_terminal("STRING").pattern.to_regexp())


def parse_query(text: str) -> Query:
    """Parse one SOQL query, or raise ``SoqlError`` (MALFORMED_QUERY).

    The query is parsed with its string literals taken out (``_shape``, cached), then the
    literals put back: a client asks the same query again and again with other values
    (the engine's lookups by 200 emails at a time), and parsing such a query took longer
    than answering it. A query that does not parse is parsed again as written, so the
    refusal points at the text the client sent."""
    literals: list[str] = []

    def slot(match: re.Match[str]) -> str:
        literals.append(match.group())
        return f"'{len(literals) - 1}'"

    try:
        shape = _shape(_string_literal().sub(slot, text))
    except SoqlError:
        return _parse(text)
    return _bind(shape, [_unquote(literal) for literal in literals])


def _parse(text: str) -> Query:
    try:
        tree = _parser("start").parse(text)
        result = _Build().transform(tree)
    except UnexpectedInput as error:
        raise _refusal(text, error) from None
    except VisitError as error:  # never let lark's wrapper reach a client
        raise SoqlError(f"malformed query: {error.orig_exc}") from None
    assert isinstance(result, Query)
    return result


@dataclass(frozen=True)
class _Slot:
    """Where the n-th string literal of the query goes back in (``parse_query``)."""

    index: int


class _Shape(_Build):
    """Builds a query whose string literals are all slots: ``'3'`` is the fourth."""

    def STRING(self, token: Token) -> Literal:  # noqa: N802  (lark terminal callback)
        return Literal("string", _Slot(int(str(token)[1:-1])))


@lru_cache(maxsize=256)
def _shape(template: str) -> Query:
    try:
        result = _Shape().transform(_parser("start").parse(template))
    except (UnexpectedInput, VisitError) as error:
        raise SoqlError(str(error)) from None
    assert isinstance(result, Query)
    return result


def _bind(query: Query, values: list[str]) -> Query:
    """The cached shape with its literals back (frozen trees: a new one per query)."""
    if not values:
        return query

    def literal(lit: Literal) -> Literal:
        return Literal("string", values[lit.value.index]) if isinstance(lit.value, _Slot) else lit

    def condition(c: Condition) -> Condition:
        match c:
            case Comparison(value=tuple() as many):
                return Comparison(c.field, c.op, tuple(literal(v) for v in many))
            case Comparison(value=Literal() as one):
                return Comparison(c.field, c.op, literal(one))
            case And(parts=parts):
                return And(tuple(condition(p) for p in parts))
            case Or(parts=parts):
                return Or(tuple(condition(p) for p in parts))
            case Not(part=part):
                return Not(condition(part))
            case SemiJoin():
                return SemiJoin(c.field, c.negated, _bind(c.query, values))
        raise AssertionError(c)

    return replace(
        query,
        where=None if query.where is None else condition(query.where),
        children=tuple(_bind(child, values) for child in query.children),
    )


def parse_condition(text: str) -> Condition:
    """Parse a WHERE condition on its own (assignment-rule criteria in the seed)."""
    try:
        tree = _parser("condition_start").parse(text)
        result = _Build().transform(tree)
    except UnexpectedInput as error:
        raise _refusal(text, error) from None
    except VisitError as error:
        raise SoqlError(f"malformed condition: {error.orig_exc}") from None
    return result.children[0]  # type: ignore[no-any-return]
