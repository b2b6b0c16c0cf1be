"""What publishing would change: the plan's records, plain data for every printer.

Pipeline position: ``engine.plan.diff`` builds a ``Plan``; ``engine.plan.render`` prints
it (text, Markdown), ``as_dict`` is its ``--json``; ``engine.plan.migrate`` applies it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["JourneyChange", "JourneyChangeKind", "Plan", "RunGroup", "StepChange", "StepChangeKind"]

JourneyChangeKind = Literal["added", "changed", "removed", "unchanged"]
StepChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class StepChange:
    """A step the edit adds, removes or changes (the same id, other text). Steps are
    matched by id: a ``step`` label, else the structural position (``dsl.walk``)."""

    step_id: str
    change: StepChangeKind
    #: The step's one-line text before and after (None on the side it is missing from).
    before: str | None
    after: str | None
    #: Its line in the new file (the old one for a removed step).
    line: int


@dataclass(frozen=True)
class RunGroup:
    """In-flight runs of one journey at one step of one version it is not published at,
    and what becomes of them."""

    version: str
    step_id: str
    #: The step's text in that version.
    step: str
    #: ``active``, ``waiting`` or ``effect`` (``store.RunStatus``).
    status: str
    runs: int
    #: With ``journey publish --migrate``: the step of the new version they move to (the
    #: step of the same label); None: they stay on their version, ``reason`` says why.
    #: Without ``--migrate`` every run stays on the version it entered with.
    migrate_to: str | None
    reason: str | None = None


@dataclass(frozen=True)
class JourneyChange:
    """One journey: how the working tree differs from the baseline, and its runs."""

    name: str
    change: JourneyChangeKind
    #: The file (the working tree's; the baseline's for a removed journey).
    path: str
    before: str | None
    after: str | None
    steps: tuple[StepChange, ...] = ()
    #: Live runs on any version but ``after``: the published one's and earlier ones'.
    runs: tuple[RunGroup, ...] = ()
    #: The Salesforce actions of the new version that the baseline does not have (the
    #: step's text), in file order.
    salesforce_actions: tuple[str, ...] = ()

    def in_flight(self, step_id: str, version: str | None = None) -> int:
        """How many live runs stand at ``step_id`` (of ``version``, default the baseline)."""
        wanted = version or self.before
        return sum(g.runs for g in self.runs if g.step_id == step_id and g.version == wanted)

    @property
    def migrating(self) -> int:
        return sum(g.runs for g in self.runs if g.migrate_to is not None)

    @property
    def staying(self) -> int:
        return sum(g.runs for g in self.runs if g.migrate_to is None)


@dataclass(frozen=True)
class Plan:
    """Every journey of the working tree and of the baseline, in name order."""

    #: ``store`` (the versions published in the store) or ``git:<REV>``.
    base: str
    journeys: tuple[JourneyChange, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> bool:
        """Whether publishing would publish anything."""
        return any(j.change != "unchanged" for j in self.journeys)

    def as_dict(self) -> dict[str, Any]:
        """The shape ``journey plan --json`` prints."""
        out = asdict(self)
        out["changes"] = self.changes
        for journey, data in zip(self.journeys, out["journeys"], strict=True):
            data["migrating"] = journey.migrating
            data["staying"] = journey.staying
        return out
