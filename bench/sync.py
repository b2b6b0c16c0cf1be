"""Sync benchmark: API calls and wall time of sync cycles against the emulated org.

    .venv/bin/python bench/sync.py                      # 3 repetitions, first sync of 100,000
    .venv/bin/python bench/sync.py --first 10000 --repeat 1

Scenarios (each on a fresh org and store, repeated; median and min–max printed):

* idle — a cycle when nothing changed, after a first sync of 2,000 Leads and one later
  change (goal: 1 API call for all four objects together: Composite takes 5 queries);
* idle with criteria — the same with criteria on Leads and Contacts (each adds a query of
  the records that left them: 6 queries, 2 Composite calls);
* 1,000 each side — 1,000 Leads changed in Salesforce and 1,000 other Leads changed in the
  engine, then one cycle (goal: at most ceil(1000/200) = 5 writes plus the reads), and the
  cycle after it (the echo: our writes read back must change nothing);
* first sync — N Leads (default 100,000) read into an empty store (Bulk API 2.0).

Everything is real: the emulated org over HTTPS with a moved clock, simple-salesforce, the
``OrgApi``/budget the connector uses, a SQLite store file. API calls are counted by the
org (``org.api_calls``); writes are the Collections (and Bulk ingest) calls among them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.replication import SalesforceReplication
from journey.connectors.salesforce.state import ConnectorState
from journey.emulator import EmulatedOrg
from journey.engine.conditions import Evaluator
from journey.engine.config import ProjectConfig
from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.store import Contact, open_store
from journey.engine.sync import CycleSummary, SyncRun, run_cycle

SEED: dict[str, Any] = {
    "User": [{"Name": "Ann Admin", "Email": "ann@acme.example", "connected": True}],
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


class Bench:
    """A fresh org with ``leads`` Leads, a store, and the sync between them."""

    def __init__(self, folder: Path, leads: int, sync: dict[str, Any] | None = None) -> None:
        self.clock = Clock()
        self.org = EmulatedOrg(seed=SEED, clock=self.clock, api_limit=100_000_000)
        served = self.org.start()
        for start in range(0, leads, 10_000):
            self.org.insert(
                "Lead",
                [
                    {
                        "LastName": f"Lead {i}",
                        "FirstName": "Bench",
                        "Company": f"Company {i % 500}",
                        "Email": f"lead{i}@bench.example",
                        "AnnualRevenue": 1000 * (i % 97),
                    }
                    for i in range(start, min(leads, start + 10_000))
                ],
            )
        url = f"sqlite:///{folder / 'state.db'}"
        self.config = ProjectConfig.model_validate(
            {"root": folder, "found": True, "store": {"url": url}, "sync": sync or {}}
        )
        self.store = open_store(url)
        self.state = ConnectorState(url)
        self.budget = ApiBudget(self.state, 1.0)
        client = connect(
            Endpoint(
                served.instance_url,
                served.version,
                session_id=served.session_id,
                ca_file=served.ca_file,
            ),
            hooks=[self.budget.hook],
        )
        self.writes = 0
        self.subrequests: list[int] = []  # per Composite call
        client.session.hooks["response"].append(self._count_write)
        self.source = SalesforceReplication(
            OrgApi(client, self.budget), self.state, bulk_threshold=self.config.sync.bulk_threshold
        )
        self.sf = self.org.client()

    def _count_write(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        """Writes: Collections and Bulk ingest calls (a composite read is a POST too)."""
        request = response.request
        url = str(request.url)
        if request.method != "GET" and ("composite/sobjects" in url or "jobs/ingest" in url):
            self.writes += 1
        if request.method == "POST" and url.rstrip("/").endswith("/composite") and request.body:
            self.subrequests.append(len(json.loads(request.body)["compositeRequest"]))
        return response

    def context(self) -> ContactContext:
        fields = self.config.all_fields()
        return ContactContext(fields, Evaluator({}, fields), self.clock.now)

    def cycle(self) -> tuple[CycleSummary, int, int, float]:
        """(summary, API calls the org counted, writes, seconds)."""
        calls, writes = self.org.api_calls, self.writes
        started = time.perf_counter()
        summary = run_cycle(SyncRun(self.store, self.source, self.config, self.context))
        seconds = time.perf_counter() - started
        assert summary.stopped is None, summary.stopped
        return summary, self.org.api_calls - calls, self.writes - writes, seconds

    def lead_ids(self) -> list[str]:
        rows = self.sf.query_all("SELECT Id FROM Lead ORDER BY LastName")["records"]
        return [str(r["Id"]) for r in rows]

    def change_in_salesforce(self, ids: list[str], title: str) -> None:
        for start in range(0, len(ids), 200):
            self.sf.restful(
                "composite/sobjects",
                method="PATCH",
                json={
                    "allOrNone": False,
                    "records": [
                        {"attributes": {"type": "Lead"}, "id": i, "Title": title}
                        for i in ids[start : start + 200]
                    ],
                },
            )

    def change_in_engine(self, ids: list[str], phone: str) -> None:
        c = Contact
        ctx = self.context()
        with self.store.begin() as conn:
            found = [
                int(r)
                for r in conn.execute(
                    c.select().with_only_columns(c.c.id).where(c.c.salesforce_id.in_(ids))
                ).scalars()
            ]
            views = load_views(conn, found)
            pairs = []
            for view in views.values():
                before = snapshot(view)
                view.set("Phone", phone)
                pairs.append((before, view))
            write_contacts(conn, pairs, ctx)

    def close(self) -> None:
        self.state.close()
        self.store.close()
        self.org.stop()


def _figure(values: list[float], unit: str, digits: int = 2) -> str:
    low, high = min(values), max(values)
    median = statistics.median(values)
    return f"median {median:.{digits}f}{unit} (min {low:.{digits}f}, max {high:.{digits}f})"


def scenario(repeat: int, run: Callable[[Path], dict[str, float]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="journey-bench-sync-") as folder:
            for key, value in run(Path(folder)).items():
                out.setdefault(key, []).append(value)
    return out


_CRITERIA = {
    "Lead": {"mode": "criteria", "criteria": [{"field": "Company", "op": "is not empty"}]},
    "Contact": {"mode": "criteria", "criteria": [{"field": "Email", "op": "is not empty"}]},
}


def idle_with_criteria(folder: Path) -> dict[str, float]:
    return idle(folder, _CRITERIA)


def idle(folder: Path, sync: dict[str, Any] | None = None) -> dict[str, float]:
    bench = Bench(folder, 2000, sync)
    try:
        bench.cycle()  # first sync
        bench.clock.now += timedelta(hours=1)
        bench.change_in_salesforce(bench.lead_ids()[:1], "Later")
        bench.cycle()
        bench.clock.now += timedelta(minutes=10)
        bench.subrequests.clear()
        summary, calls, writes, seconds = bench.cycle()
        assert summary.inbound == summary.outbound == 0
        return {
            "calls": calls,
            "writes": writes,
            "seconds": seconds,
            "subrequests": max(bench.subrequests, default=0),
        }
    finally:
        bench.close()


def each_side(folder: Path) -> dict[str, float]:
    bench = Bench(folder, 2000)
    try:
        bench.cycle()
        bench.clock.now += timedelta(hours=1)
        ids = bench.lead_ids()
        bench.change_in_salesforce(ids[:1000], "Changed in Salesforce")
        bench.change_in_engine(ids[1000:], "+1 555 0100")
        summary, calls, writes, seconds = bench.cycle()
        assert (summary.inbound, summary.outbound) == (1000, 1000), summary
        bench.clock.now += timedelta(minutes=10)
        echo, echo_calls, _, echo_seconds = bench.cycle()
        assert (echo.inbound, echo.outbound) == (0, 0), echo
        return {
            "calls": calls,
            "writes": writes,
            "reads": calls - writes,
            "seconds": seconds,
            "echo_calls": echo_calls,
            "echo_seconds": echo_seconds,
        }
    finally:
        bench.close()


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_sync(records: int) -> Callable[[Path], dict[str, float]]:
    def run(folder: Path) -> dict[str, float]:
        bench = Bench(folder, records)
        try:
            before = _status_mb("VmRSS")
            # Reset the peak (Linux): the cycle's own peak, not the set-up's.
            with contextlib.suppress(OSError):
                Path("/proc/self/clear_refs").write_text("5")
            summary, calls, writes, seconds = bench.cycle()
            assert summary.inbound >= records, summary
            grew = _status_mb("VmHWM") - before
            return {"calls": calls, "writes": writes, "seconds": seconds, "grew": grew}
        finally:
            bench.close()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first", type=int, default=100_000, help="records in the first sync")
    parser.add_argument("--idle-only", action="store_true", help="only the idle cycles")
    args = parser.parse_args()
    print(f"sync benchmark, {args.repeat} repetition(s)")
    for label, run in (("idle cycle", idle), ("idle cycle, criteria", idle_with_criteria)):
        got = scenario(args.repeat, run)
        calls, wall = _figure(got["calls"], "", 0), _figure(got["seconds"], " s", 3)
        most = int(max(got["subrequests"]))
        print(f"{label}: API calls {calls}, at most {most} queries a Composite call; wall {wall}")
    if args.idle_only:
        return
    got = scenario(args.repeat, each_side)
    goal = math.ceil(1000 / 200)
    print(
        f"1,000 changed each side: API calls {_figure(got['calls'], '', 0)} = writes "
        f"{_figure(got['writes'], '', 0)} (goal <= {goal}) + reads {_figure(got['reads'], '', 0)}; "
        f"wall {_figure(got['seconds'], ' s')}"
    )
    print(
        f"  the cycle after (echo of our 1,000 writes): API calls "
        f"{_figure(got['echo_calls'], '', 0)}; wall {_figure(got['echo_seconds'], ' s')}"
    )
    got = scenario(args.repeat, first_sync(args.first))
    print(
        f"first sync of {args.first:,} Leads: API calls {_figure(got['calls'], '', 0)}; "
        f"wall {_figure(got['seconds'], ' s')}"
    )
    print(
        f"  memory the first sync added at its peak (RSS over the set-up; the in-process org's "
        f"Bulk job included): {_figure(got['grew'], ' MB', 0)}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole benchmark process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
