"""The compiled journey: the immutable spec that every run of a journey walks.

Pipeline position: checked syntax tree -> **compiled journey** (graph) -> executor.
This is the contract between the language and the engine: the engine reads only
what is declared here (steps, their outcomes, the header), never the syntax of
blocks and labels. A run stores ``(version, step id)``; both must therefore be
stable: ``version`` hashes the source with the step-id scheme that names its steps
(``dsl.compiler.journey_version``), and a step id is its ``step`` label where given,
else its structural position (see ``dsl.walk``), so an edit elsewhere in the file does
not renumber it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Literal, TypeAlias

from journey.dsl.syntax import Action, Condition, EntryRule, Goal, Trigger

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["END", "CompiledJourney", "Outcome", "Step", "StepKind"]

#: The id of the implicit step after the last statement: reaching it completes the run.
END = "end"

StepKind: TypeAlias = Literal["action", "condition", "split", "wait", "wait_until", "exit", "end"]

#: Edge labels. ``condition``: "yes"/"no"; ``split``: "path 1", "path 2", ...;
#: ``action``, ``wait``, ``wait_until``: "next" (a wait-until goes on the same way whether
#: its condition held or its time ran out; the executor records which). ``exit``/``end``
#: have no outgoing edge.
Outcome: TypeAlias = str


@dataclass(frozen=True)
class Step:
    """One node of the journey graph, with everything the executor needs to run it."""

    id: str
    kind: StepKind
    #: The step in canonical journey syntax, one line (e.g. ``wait 2 days``); shown in
    #: graphs, ``journey status`` and the activity feed.
    text: str
    #: 1-based source line, 0 for the implicit end.
    line: int
    #: outcome -> id of the next step.
    next: Mapping[Outcome, str] = field(default_factory=dict)
    action: Action | None = None
    #: ``condition`` and ``wait_until`` steps.
    condition: Condition | None = None
    #: ``wait``: how long; ``wait_until``: the most it waits.
    duration: timedelta | None = None
    #: ``split``: the shares in percent, in path order ("path 1" first).
    shares: tuple[int, ...] = ()


@dataclass(frozen=True)
class CompiledJourney:
    """A journey ready to run. Shared by every run; runs carry their own position."""

    name: str
    #: The journey version: 16 hex digits hashing the source text and the step-id scheme.
    version: str
    triggers: tuple[Trigger, ...]
    entry: EntryRule
    goals: tuple[Goal, ...]
    #: step id -> step, including ``END``.
    steps: Mapping[str, Step]
    #: The id of the first step (``END`` for a journey without steps).
    start: str
    source_path: str | None = field(default=None, compare=False)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """One node per step (node attribute ``step`` holds the ``Step``; ``kind``, ``text``
        and ``line`` are copied for drawing), edges labelled ``label`` with their outcome.
        Built on first use: drawing needs it, running and checking do not, and networkx
        is slow to import."""
        import networkx as nx

        graph = nx.DiGraph()
        for step in self.steps.values():
            graph.add_node(step.id, step=step, kind=step.kind, text=step.text, line=step.line)
        for step in self.steps.values():
            for outcome, target in step.next.items():
                if graph.has_edge(step.id, target):
                    graph.edges[step.id, target]["label"] += f", {outcome}"
                else:
                    graph.add_edge(step.id, target, label=outcome)
        return graph

    def successor(self, step_id: str, outcome: Outcome = "next") -> str:
        """The step a run goes to after ``step_id`` ends with ``outcome``."""
        return self.steps[step_id].next[outcome]
