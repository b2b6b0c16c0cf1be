"""A journey's step graph drawn as SVG, with a place for each step's counts.

Pipeline position: compiled graph (``CompiledJourney.graph``, networkx) -> **graph** ->
the journey page. A layered layout of our own (no Graphviz on the machine): edges that
go back up the journey (``go to`` loops) are found by a depth-first walk from the first
step and set aside, each step's row is its longest path from the first step over the
rest, and a row's steps keep the order the walk met them, so a branch's steps stay on
their side. Edges down are curves from step to step; edges back run up the right-hand
side. Every step is a link to the list of contacts at it; its counts are ``<tspan>``s
the page's script updates in place (``data-count``). The text is escaped by
``xml.sax.saxutils``, so any journey text is safe to draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

from journey.dsl.compiled import END, CompiledJourney

__all__ = ["COUNT_KINDS", "Layout", "layout", "to_svg"]

#: The counts each step shows, in order (``engine.status.StepCount``'s fields).
COUNT_KINDS = ("entered", "waiting", "done", "failed")

_WIDTH, _HEIGHT = 280, 66
_GAP_X, _GAP_Y = 36, 54
_MARGIN = 24
_LOOP_LANE = 28
_TEXT_CHARS = 40


@dataclass(frozen=True)
class Layout:
    """Where each step sits (top-left corner) and which edges go back up."""

    positions: dict[str, tuple[int, int]]
    back_edges: frozenset[tuple[str, str]]
    width: int
    height: int


def _walk(graph: nx.DiGraph, start: str) -> tuple[list[str], set[tuple[str, str]]]:
    """Depth-first from ``start``: the order steps are met, and the edges into a step
    still on the walk's path (the loops)."""
    order: list[str] = []
    back: set[tuple[str, str]] = set()
    on_path: set[str] = set()
    seen: set[str] = set()

    def visit(node: str) -> None:
        seen.add(node)
        on_path.add(node)
        order.append(node)
        for succ in graph.successors(node):
            if succ in on_path:
                back.add((node, succ))
            elif succ not in seen:
                visit(succ)
        on_path.discard(node)

    if start in graph:
        visit(start)
    for node in graph.nodes:  # steps no path reaches (none in a checked journey)
        if node not in seen:
            visit(node)
    return order, back


def layout(journey: CompiledJourney) -> Layout:
    graph = journey.graph
    order, back = _walk(graph, journey.start)
    forward = nx.DiGraph()
    forward.add_nodes_from(order)
    forward.add_edges_from((u, v) for u, v in graph.edges if (u, v) not in back)
    row: dict[str, int] = {}
    for node in nx.topological_sort(forward):
        preds = list(forward.predecessors(node))
        row[node] = max((row[p] + 1 for p in preds), default=0)
    others = [r for node, r in row.items() if node != END]
    if END in row and others:  # the end always closes the drawing
        row[END] = max(others) + 1
    rows: dict[int, list[str]] = {}
    for node in order:
        rows.setdefault(row[node], []).append(node)
    widest = max((len(r) for r in rows.values()), default=1)
    span = widest * _WIDTH + (widest - 1) * _GAP_X
    positions: dict[str, tuple[int, int]] = {}
    for index, nodes in sorted(rows.items()):
        used = len(nodes) * _WIDTH + (len(nodes) - 1) * _GAP_X
        x0 = _MARGIN + (span - used) // 2
        for i, node in enumerate(nodes):
            positions[node] = (x0 + i * (_WIDTH + _GAP_X), _MARGIN + index * (_HEIGHT + _GAP_Y))
    lanes = _LOOP_LANE * (len(back) + 1) if back else 0
    height = _MARGIN * 2 + len(rows) * _HEIGHT + max(len(rows) - 1, 0) * _GAP_Y
    return Layout(positions, frozenset(back), _MARGIN * 2 + span + lanes, height)


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…"


def _edge(layout: Layout, source: str, target: str, label: str, lane: int) -> str:
    sx, sy = layout.positions[source]
    tx, ty = layout.positions[target]
    if (source, target) in layout.back_edges:
        right = layout.width - _MARGIN - lane * _LOOP_LANE
        x1, y1 = sx + _WIDTH, sy + _HEIGHT // 2
        x2, y2 = tx + _WIDTH, ty + _HEIGHT // 2
        d = f"M{x1},{y1} H{right} V{y2} H{x2}"
        lx, ly = right - 4, (y1 + y2) // 2
        css = "edge back"
    else:
        x1, y1 = sx + _WIDTH // 2, sy + _HEIGHT
        x2, y2 = tx + _WIDTH // 2, ty
        mid = (y1 + y2) // 2
        d = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"
        lx, ly = (x1 + x2) // 2 + 6, mid
        css = "edge"
    text = (
        ""
        if label == "next"
        else f'<text class="edge-label" x="{lx}" y="{ly}">{escape(label)}</text>'
    )
    return f'<path class="{css}" d="{d}" marker-end="url(#arrow)"/>{text}'


def to_svg(
    journey: CompiledJourney,
    link: Callable[[str], str],
    counts: dict[str, dict[str, int]] | None = None,
) -> str:
    """The journey as an ``<svg>`` element; ``link(step_id)`` is each step's URL,
    ``counts`` the numbers drawn at first (the page keeps them current)."""
    drawn = layout(journey)
    counts = counts or {}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-graph" role="img" '
        f'viewBox="0 0 {drawn.width} {drawn.height}" width="{drawn.width}" '
        f'height="{drawn.height}" aria-label={quoteattr(journey.name)}>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>",
    ]
    lane = 0
    for source, target, label in journey.graph.edges(data="label"):
        if (source, target) in drawn.back_edges:
            lane += 1
        parts.append(_edge(drawn, source, target, str(label), lane))
    parts.extend(_step(journey, sid, drawn, link(sid), counts.get(sid, {})) for sid in _ids(drawn))
    parts.append("</svg>")
    return "".join(parts)


def _ids(drawn: Layout) -> Iterable[str]:
    return sorted(drawn.positions, key=lambda s: (drawn.positions[s][1], drawn.positions[s][0]))


def _step(
    journey: CompiledJourney, sid: str, drawn: Layout, href: str, counts: dict[str, int]
) -> str:
    step = journey.steps[sid]
    x, y = drawn.positions[sid]
    title = step.text if step.kind == "end" else f"{sid}: {step.text}"
    numbers = "".join(
        f'<tspan class="count {kind}{" zero" if not counts.get(kind) else ""}" '
        f'data-count="{kind}">{counts.get(kind, 0)}</tspan>'
        f'<tspan class="count-label"> {kind}{"  " if kind != COUNT_KINDS[-1] else ""}</tspan>'
        for kind in COUNT_KINDS
    )
    return (
        f'<a href={quoteattr(href)} class="step-link" data-step={quoteattr(sid)}>'
        f'<g class="step kind-{step.kind}"><title>{escape(title)}</title>'
        f'<rect x="{x}" y="{y}" width="{_WIDTH}" height="{_HEIGHT}" rx="8"/>'
        f'<text class="step-text" x="{x + 12}" y="{y + 24}">{escape(_short(title))}</text>'
        f'<text class="step-counts" x="{x + 12}" y="{y + 48}">{numbers}</text>'
        "</g></a>"
    )
