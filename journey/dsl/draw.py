"""Drawings of a compiled journey: Mermaid, Graphviz DOT and node-link JSON.

Pipeline position: compiled graph -> **pictures**; ``journey graph`` prints them. Mermaid
is what GitHub renders in a pull request, so a journey's review shows its shape; labels
are quoted and escaped with Mermaid's ``#quot;`` entities so any journey text is safe.
The JSON is ``networkx.node_link_data`` with the syntax objects turned into plain dicts.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import networkx as nx

from journey.dsl.compiled import CompiledJourney, Step
from journey.dsl.syntax import Span

__all__ = ["to_dot", "to_json", "to_mermaid", "to_plain"]

_MERMAID_SHAPES = {
    "condition": ("{", "}"),
    "split": ("{{", "}}"),
    "wait": ("([", "])"),
    "wait_until": ("([", "])"),
    "exit": ("((", "))"),
    "end": ("((", "))"),
    "action": ("[", "]"),
}


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


def to_mermaid(journey: CompiledJourney) -> str:
    """A ``flowchart TD`` with one node per step; node ids are ``s0``, ``s1``… (step ids
    hold dots and words Mermaid would misread), the step id is shown in the label."""
    names = {sid: f"s{index}" for index, sid in enumerate(journey.steps)}
    lines = ["flowchart TD", f'    start(["{_mermaid_text(journey.name)}"])']
    for sid, step in journey.steps.items():
        opening, closing = _MERMAID_SHAPES[step.kind]
        label = step.text if step.kind in ("end",) else f"{sid}: {step.text}"
        lines.append(f'    {names[sid]}{opening}"{_mermaid_text(label)}"{closing}')
    lines.append(f"    start --> {names[journey.start]}")
    for source, target, label in journey.graph.edges(data="label"):
        text = "" if label == "next" else f'|"{_mermaid_text(label)}"|'
        lines.append(f"    {names[source]} -->{text} {names[target]}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {
    "condition": "diamond",
    "split": "hexagon",
    "wait": "ellipse",
    "wait_until": "ellipse",
    "exit": "doublecircle",
    "end": "doublecircle",
    "action": "box",
}


def to_dot(journey: CompiledJourney) -> str:
    """Graphviz DOT (``dot -Tsvg``), node names the step ids, quoted."""
    lines = [f"digraph {_dot_string(journey.name)} {{", "    rankdir=TB;"]
    for sid, step in journey.steps.items():
        label = _dot_string(step.text if step.kind == "end" else f"{sid}: {step.text}")
        lines.append(f"    {_dot_string(sid)} [shape={_DOT_SHAPES[step.kind]}, label={label}];")
    for source, target, label in journey.graph.edges(data="label"):
        attrs = "" if label == "next" else f" [label={_dot_string(label)}]"
        lines.append(f"    {_dot_string(source)} -> {_dot_string(target)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_plain(value: Any, spans: bool = False) -> Any:
    """Syntax objects, steps and durations as JSON-ready dicts, lists and strings; each
    syntax node dict carries its ``type`` (the class name). Spans are dropped unless
    ``spans`` (then shown as ``"line:col-line:col"``)."""
    if isinstance(value, Span):
        return f"{value.line}:{value.column}-{value.end_line}:{value.end_column}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for item in dataclasses.fields(value):
            is_span = item.name in _SPAN_FIELDS
            if is_span and not spans:
                continue
            out[item.name] = to_plain(getattr(value, item.name), spans)
        return out
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): to_plain(v, spans) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v, spans) for v in value]
    return value


_SPAN_FIELDS = frozenset({"span", "name_span", "label_span", "else_span", "path_spans"})


def to_json(journey: CompiledJourney) -> str:
    """``networkx.node_link_data`` of the graph plus the journey's header, as JSON."""
    graph = nx.DiGraph()
    for node, data in journey.graph.nodes(data=True):
        step: Step = data["step"]
        graph.add_node(node, **{**data, "step": to_plain(step)})
    graph.add_edges_from(journey.graph.edges(data=True))
    document = {
        "name": journey.name,
        "version": journey.version,
        "start": journey.start,
        "triggers": to_plain(journey.triggers),
        "entry": to_plain(journey.entry),
        "goals": to_plain(journey.goals),
        "graph": nx.node_link_data(graph, edges="edges"),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
