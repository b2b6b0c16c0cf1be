"""What reading or writing contacts needs to know of the project, apart from the store:
a dry run checks its CSV's values with it and imports no database layer
(``engine.contacts`` re-exports it, for the writers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from journey.engine.conditions import Evaluator
from journey.engine.contact import canonical_field

__all__ = ["ContactContext"]


@dataclass
class ContactContext:
    """What writing contacts needs to know: field types (from ``journey.toml``), the
    segment evaluator, and the clock. ``listens`` (kind, name) -> bool, when given, keeps
    only the events some published journey has a trigger for: the inbox exists to start
    runs, and a pass that updates 100,000 contacts should not queue 300,000 events that
    no trigger will ever match. Without it every event is kept."""

    field_types: Mapping[str, str]
    evaluator: Evaluator
    now: datetime
    listens: Callable[[str, str], bool] | None = None
    #: Fields journey.toml maps inbound only (``sync.mapping.inbound_only_fields``): what
    #: intake sets aside, since only Salesforce writes them.
    inbound_only: frozenset[str] = frozenset()
    _types: dict[str, tuple[str, str]] = field(init=False)
    _inbound: frozenset[str] = field(init=False)
    _columns: dict[str, tuple[str, bool, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._types = {k.casefold(): (k, v) for k, v in self.field_types.items()}
        self._inbound = frozenset(n.casefold() for n in self.inbound_only)

    def is_inbound_only(self, name: str) -> bool:
        return name.casefold() in self._inbound

    def display(self, name: str) -> str:
        entry = self._types.get(name.strip().casefold())
        return entry[0] if entry else canonical_field(name)

    def type_of(self, name: str) -> str:
        entry = self._types.get(name.casefold())
        return entry[1] if entry else "Text"

    def column(self, name: str) -> tuple[str, bool, str]:
        """(display name, inbound only, type) of a column or form field: a file's rows
        ask this of the same few names each time. Kept for the first thousand names (a
        form's posts could name any number)."""
        known = self._columns.get(name)
        if known is None:
            display = self.display(name)
            known = (display, self.is_inbound_only(display), self.type_of(display))
            if len(self._columns) < 1000:
                self._columns[name] = known
        return known
