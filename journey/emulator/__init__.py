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

from journey.emulator.emulated_org import EmulatedOrg, OrgEndpoint
from journey.emulator.errors import ApiError
from journey.emulator.faults import Faults
from journey.emulator.ids import checksum, to_18
from journey.emulator.seed import SeedError, load_seed

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
