"""The emulated Salesforce org: a local HTTPS server that simple-salesforce talks to
unmodified — the embedded default, the ground for connector tests, the stage for dry runs.

Inside, top to bottom: ``server`` (TLS, session, API allocation, faults; ``encoding`` for
gzip) → ``rest`` / ``upsert`` / ``composite`` (``composite_batch``, ``tree``) / ``bulk`` /
``soap`` (the API surfaces) → ``org`` (record semantics: the
checks of ``write_checks``, the per-object ``object_rules``, ``assignment`` rules,
``conversion``, ``replication``) → ``soql`` + ``evaluate`` (queries) → ``store`` (SQLite).
``schema``, ``ids``, ``values`` and ``formula`` are shared vocabulary; ``seed`` fills a
new org. Beside the API surfaces, ``oauth`` logs clients in (``apps``, ``tokens``,
``consent``, ``identity``); ``versions`` and ``edition`` decide which calls the org serves.
See docs/emulator.md for what is emulated and what is not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journey.emulator.emulated_org import EmulatedOrg, OrgEndpoint
    from journey.emulator.errors import ApiError
    from journey.emulator.faults import Faults
    from journey.emulator.ids import checksum, to_18
    from journey.emulator.seed import SeedError, load_seed

#: Where each public name lives: imported on first use, so that reading a seed or the schema
#: (``journey check`` on an embedded-org project) does not start up the whole org.
_HOMES = {
    "ApiError": "journey.emulator.errors",
    "EmulatedOrg": "journey.emulator.emulated_org",
    "Faults": "journey.emulator.faults",
    "OrgEndpoint": "journey.emulator.emulated_org",
    "SeedError": "journey.emulator.seed",
    "checksum": "journey.emulator.ids",
    "load_seed": "journey.emulator.seed",
    "to_18": "journey.emulator.ids",
}

__all__ = [
    "ApiError",
    "EmulatedOrg",
    "Faults",
    "OrgEndpoint",
    "SeedError",
    "checksum",
    "load_seed",
    "to_18",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
