"""The Salesforce sync, store side: Leads, Contacts, Accounts and campaign members kept in
step with the org, both ways, within a tiny API budget.

Pipeline position: ``journey sync`` -> **engine.sync** -> store (contacts, lists, campaign
statuses, the events inbox that triggers read) and ``connectors.sync.SyncSource`` -> the
org. It never imports simple-salesforce. Read in this order:

* ``engine.sync.cycle`` — one cycle: read, take in, send out, summarise (``run_cycle``).
* ``engine.sync.describe`` — which fields the org has (describe), checked against the
  mappings and criteria.
* ``engine.sync.mapping`` — which contact field is which Salesforce field, and values.
* ``engine.sync.inbound`` — Leads and Contacts into the store, conversions;
  ``engine.sync.identity`` which contact a record is (and duplicates),
  ``engine.sync.merge`` the three-way merge of one record's values.
* ``engine.sync.accounts``, ``engine.sync.members``, ``engine.sync.removal`` — Accounts and
  the fields their Contacts show, campaign member statuses, deleted records.
* ``engine.sync.outbound`` — engine-side changes and the activity feed to Salesforce.
* ``engine.sync.records`` — the sync's tables: shadows, watermarks, errors, pending.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from journey.vocabulary import CONTACTS_LIST, LEADS_LIST

if TYPE_CHECKING:
    from journey.engine.sync.cycle import CycleSummary, SyncRun, run_cycle
    from journey.engine.sync.identity import possible_duplicates
    from journey.engine.sync.records import ERRORS_LIST, error_rows

#: Where each public name lives, imported on first use: ``journey check`` reads the field
#: mapping (``engine.sync.mapping``) without loading the cycle and its store.
_HOMES = {
    "CycleSummary": "journey.engine.sync.cycle",
    "SyncRun": "journey.engine.sync.cycle",
    "run_cycle": "journey.engine.sync.cycle",
    "possible_duplicates": "journey.engine.sync.identity",
    "ERRORS_LIST": "journey.engine.sync.records",
    "error_rows": "journey.engine.sync.records",
}

__all__ = [
    "CONTACTS_LIST",
    "ERRORS_LIST",
    "LEADS_LIST",
    "CycleSummary",
    "SyncRun",
    "error_rows",
    "possible_duplicates",
    "run_cycle",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
