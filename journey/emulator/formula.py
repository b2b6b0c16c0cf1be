"""Formula fields: parsed once from the seed, computed each time a record is read.

Pipeline position: compiled by ``org`` whenever it is configured from the seed's fields,
computed on its read path (``Org.view``). A formula value is never stored and changes no
timestamp — the reason a LastModifiedDate-based sync misses formula changes,
which the emulated org must reproduce. Arithmetic over number fields only; a blank input
or a division by zero gives a blank result (Salesforce's "treat blanks as blanks").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree, UnexpectedInput

from journey.emulator.schema import Schema

__all__ = ["Formula", "FormulaError", "compile_formula", "compile_formulas"]

Formula = Callable[[Mapping[str, Any]], float | None]


class FormulaError(ValueError):
    """A seed formula the emulated org cannot compute."""


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = Path(__file__).with_name("formula.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start="expr")


def compile_formula(text: str, known_fields: Callable[[str], str | None]) -> Formula:
    """Compile ``text``; ``known_fields`` maps a name to its canonical field name or None."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise FormulaError(f"formula {text!r}: unexpected input at column {error.column}") from None

    def build(node: Tree[Token] | Token) -> Formula:
        assert isinstance(node, Tree)
        kind = node.data
        if kind == "number":
            constant = float(str(node.children[0]))
            return lambda _record: constant
        if kind == "field":
            name = known_fields(str(node.children[0]))
            if name is None:
                raise FormulaError(f"formula {text!r}: unknown field {node.children[0]}")
            field_name = name

            def read(record: Mapping[str, Any]) -> float | None:
                value = record.get(field_name)
                return float(value) if isinstance(value, int | float) else None

            return read
        if kind == "negate":
            inner = build(node.children[0])
            return lambda record: None if (v := inner(record)) is None else -v
        left, op, right = build(node.children[0]), str(node.children[1]), build(node.children[2])
        return lambda record: _apply(op, left(record), right(record))

    return build(tree)


def compile_formulas(schema: Schema) -> dict[str, dict[str, Formula]]:
    """Every formula field of ``schema``, compiled: object name -> field name -> formula.
    Field names in a formula resolve within its own object, in any case."""
    compiled: dict[str, dict[str, Formula]] = {}
    for sobject in schema.objects():
        for field in sobject.fields.values():
            if field.formula is not None:

                def canonical(name: str, known: Callable[..., Any] = sobject.field) -> str | None:
                    found = known(name)
                    return found.name if found is not None else None

                formula = compile_formula(field.formula, canonical)
                compiled.setdefault(sobject.name, {})[field.name] = formula
    return compiled


def _apply(op: str, left: float | None, right: float | None) -> float | None:
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right
