"""How deep a journey may nest and how many steps it may have: the language's two limits.

Pipeline position: beside the parser and the checker. The nesting depth is measured on
lark's parse tree, before ``dsl.transformer`` builds the syntax tree: lark's LALR parser
is iterative, but the transformer and every later walk over the syntax tree (checker,
compiler, formatter, drawing, the engine's condition evaluator) recurse, one Python frame
or more per level, so a file nested deeper than Python's recursion limit would crash them.
The measurement here keeps its own stack. The step count is checked on the syntax tree
(``dsl.walk`` gives the steps), and the executor reads the same ``MAX_STEPS``, so a journey
that checks is one a run can walk to its end.
"""

from __future__ import annotations

from lark import Token, Tree

from journey.dsl.diagnostics import Diagnostic, at, at_span
from journey.dsl.syntax import Branch, Label, Statement
from journey.dsl.walk import walk

__all__ = ["MAX_DEPTH", "MAX_STEPS", "depth_problem", "step_count_problem"]

#: The deepest a journey nests: blocks inside blocks (``if``, ``else``, ``split`` paths),
#: and, separately, groupings inside a condition (parentheses and ``not``). Far beyond
#: what a readable journey needs, and far below Python's recursion limit even when a
#: condition this deep sits in a block this deep.
MAX_DEPTH = 50

#: The most steps a run takes in one pass (between one wait and the next) before the
#: executor fails it: only a loop whose waits are all already over can get there. A
#: journey has fewer steps than this, so a run that walks each of its steps once in one
#: pass always reaches the end (labels and ``go to``s are not steps).
MAX_STEPS = 10_000

_BLOCKS = frozenset({"block"})
_GROUPS = frozenset({"atom", "negation"})  # ``atom`` in lark's tree: a parenthesised group


def _first_token(tree: Tree[Token]) -> Token | None:
    """The first token of ``tree`` with a position (its own stack: no recursion)."""
    stack: list[Tree[Token] | Token] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            if node.line is not None and node.type != "_NL":
                return node
            continue
        stack.extend(reversed(node.children))
    return None


def depth_problem(tree: Tree[Token], path: str, lines: list[str]) -> Diagnostic | None:
    """The first place where blocks or a condition nest deeper than ``MAX_DEPTH``, or
    None. Reads lark's tree with an explicit stack, so any depth is measured safely."""
    stack: list[tuple[Tree[Token], int, int]] = [(tree, 0, 0)]
    while stack:
        node, blocks, groups = stack.pop()
        if node.data in _BLOCKS:
            blocks += 1
            if blocks > MAX_DEPTH:
                return _too_deep(node, path, lines, f"blocks nested {blocks} deep", _BLOCK_HINT)
        elif node.data in _GROUPS:
            groups += 1
            if groups > MAX_DEPTH:
                what = f"a condition nested {groups} deep (parentheses and `not`)"
                return _too_deep(node, path, lines, what, _GROUP_HINT)
        # Reversed, so the first place in the file is the one reported.
        stack.extend(
            (child, blocks, groups) for child in reversed(node.children) if isinstance(child, Tree)
        )
    return None


_BLOCK_HINT = "flatten it: `else if` chains do not nest, and `and` joins conditions on one `if`"
_GROUP_HINT = "write it flatter: `not (a or b)` is `not a and not b`"


def _too_deep(node: Tree[Token], path: str, lines: list[str], what: str, hint: str) -> Diagnostic:
    token = _first_token(node)
    line, column = (token.line or 1, token.column or 1) if token else (1, 1)
    return at(
        path, lines, line, column, "error", f"{what}: the limit is {MAX_DEPTH}", hint, code="J108"
    )


def step_count_problem(
    steps: tuple[Statement, ...], path: str, lines: list[str]
) -> Diagnostic | None:
    """A diagnostic at the step that reaches ``MAX_STEPS``, or None when there are fewer."""
    count = 0
    first_over: Statement | Branch | None = None
    for place in walk(steps):
        if place.step_id is None or isinstance(place.node, Label):
            continue
        count += 1
        if count == MAX_STEPS:
            first_over = place.node
    if first_over is None:
        return None
    return at_span(
        path,
        lines,
        first_over.span,
        "error",
        f"too many steps: this journey has {count:,}, and a journey has fewer than "
        f"{MAX_STEPS:,} (the most a run takes in one pass)",
        "split it into journeys of their own, one entering the next through a list",
        code="J503",
    )
