"""Salesforce actions benchmark: API calls per action against the per-record count, and
wall time, for N contacts taken by the durable engine through three Salesforce actions.

    .venv/bin/python bench/actions.py                  # N = 10,000, 3 repetitions
    .venv/bin/python bench/actions.py --contacts 1000 --repeat 1

The journey (triggered by a list the contacts are imported into)::

    add to list "Salesforce Leads"               creates a Lead per contact
    assign lead to group "SDRs"                  round robin: an owner update per Lead
    update salesforce field "Rating" to "Hot"    a field update per Lead

Everything is real: the engine on a SQLite file, the Salesforce connector built by
``connectors.factory.open_connector`` on the embedded emulated org over HTTPS (simple-
salesforce, sObject Collections). The org counts every API call; a thin wrapper around
``perform`` attributes them to actions. Goal: at most ceil(N/200) calls per action for
the creates and updates (reads — the owners read back after creating, the users looked up
once — are reported apart). Figures: median and min–max over the repetitions.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journey.connectors.base import Connector, EffectRequest, EffectResult, Reconciled
from journey.connectors.factory import open_connector
from journey.connectors.salesforce.connector import SalesforceConnector
from journey.dsl.syntax import Action
from journey.engine.config import load_config
from journey.engine.intake import import_csv
from journey.engine.project import open_project

JOURNEY = """journey "Bench"
trigger added to list "Bench"
add to list "Salesforce Leads"
assign lead to group "SDRs"
update salesforce field "Rating" to "Hot"
"""
SEED = """{"User": [
  {"Name": "Ann Admin", "Email": "ann@acme.example", "connected": true},
  {"Name": "Bob Seller", "Email": "bob@acme.example"},
  {"Name": "Eva Europe", "Email": "eva@acme.example"}]}
"""


class Counting:
    """Attributes the org's API calls to the action being performed (bench only)."""

    def __init__(self, inner: SalesforceConnector, calls: Any) -> None:
        self.inner, self.calls = inner, calls
        self.name = inner.name
        self.by_action: dict[str, int] = defaultdict(int)
        self.writes: dict[str, int] = defaultdict(int)
        self.records: dict[str, int] = defaultdict(int)

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        before, writes = self.calls(), self.inner.api.budget.writes
        results = self.inner.perform(action, requests)
        self.by_action[type(action).__name__] += self.calls() - before
        self.writes[type(action).__name__] += self.inner.api.budget.writes - writes
        self.records[type(action).__name__] += len(requests)
        return results

    def reconcile(self, action: Action, requests: Sequence[EffectRequest]) -> list[Reconciled]:
        return self.inner.reconcile(action, requests)

    def close(self) -> None:
        self.inner.close()


def one_run(n: int, batch_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-actions-") as folder:
        root = Path(folder)
        (root / "journeys").mkdir()
        (root / "journeys" / "bench.journey").write_text(JOURNEY)
        (root / "seed.json").write_text(SEED)
        (root / "journey.toml").write_text(
            '[salesforce]\nseed = "seed.json"\n'
            '[groups]\n"SDRs" = ["ann@acme.example", "bob@acme.example", "eva@acme.example"]\n'
        )
        (root / "contacts.csv").write_text(
            "Email,First Name,Last Name,Company\n"
            + "".join(f"c{i}@bench.example,C{i},Person{i},Co{i % 97}\n" for i in range(n))
        )
        os.environ.pop("JOURNEY_DATABASE_URL", None)
        config = load_config(root)
        handle = open_connector(config)
        org = handle.org
        assert org is not None
        assert isinstance(handle.connector, SalesforceConnector)
        counting = Counting(handle.connector, lambda: org.api_calls)
        connector: Connector = counting
        now = datetime.now(UTC)
        project = open_project(root, connector=connector, now=now)
        try:
            import_csv(project.store, root / "contacts.csv", project.context(now), "Bench")
            start_calls = org.api_calls
            started = time.perf_counter()
            report = project.runner(batch_size=batch_size).run_until_idle(now)
            wall = time.perf_counter() - started
            total = org.api_calls - start_calls
            owners = org.client().query(
                "SELECT COUNT() FROM Lead WHERE Rating = 'Hot' AND Email LIKE '%bench.example'"
            )["totalSize"]
        finally:
            project.store.close()
            handle.close()
        return {
            "wall": wall,
            "total": total,
            "by_action": dict(counting.by_action),
            "writes": dict(counting.writes),
            "records": dict(counting.records),
            "effects": report.effects,
            "leads_done": owners,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000, help="the runner's batch")
    args = parser.parse_args()
    n = args.contacts
    runs = [one_run(n, args.batch_size) for _ in range(args.repeat)]
    goal = math.ceil(n / 200)
    print(f"N = {n} contacts, runner batch {args.batch_size}, {args.repeat} repetitions")
    print(f"goal: <= {goal} calls per action for creates and updates (ceil(N/200))")
    for action in ("AddToList", "AssignLeadToGroup", "UpdateSalesforceField"):
        calls = [r["by_action"].get(action, 0) for r in runs]
        writes = [r["writes"].get(action, 0) for r in runs]
        records = runs[0]["records"].get(action, 0)
        verdict = "meets" if max(writes) <= goal else "MISSES"
        print(
            f"  {action:<22} {records:>6} records (one call each would be {records}): "
            f"{statistics.median(writes):.0f} write calls (min {min(writes)}, max {max(writes)}; "
            f"{verdict} the goal), {statistics.median(calls):.0f} calls with reads "
            f"(min {min(calls)}, max {max(calls)})"
        )
    totals = [r["total"] for r in runs]
    walls = [r["wall"] for r in runs]
    print(
        f"  total API calls: median {statistics.median(totals):.0f} (min {min(totals)}, "
        f"max {max(totals)}) for {3 * n} record operations"
    )
    print(
        f"  wall time: median {statistics.median(walls):.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f}); "
        f"{3 * n / statistics.median(walls):,.0f} record operations/s"
    )
    print(f"  Leads with Rating = Hot at the end: {runs[-1]['leads_done']} of {n}")


if __name__ == "__main__":
    main()
