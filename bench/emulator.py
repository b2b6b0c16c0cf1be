"""Emulated-org benchmark: queries and single-record writes per second over loopback HTTPS.

    .venv/bin/python bench/emulator.py              # 5 rounds of 300 calls each
    .venv/bin/python bench/emulator.py --quick      # 3 rounds of 50, to try it out

Everything goes through simple-salesforce over TLS on 127.0.0.1, exactly as the connector
talks to the org (keep-alive connections, one client thread). The org holds N Leads
(inserted in-process first); each round times:

* query — ``SELECT Id, Name, Owner.Name FROM Lead WHERE Email = '…'`` (a full scan of the
  Leads: the emulator keeps no field indexes) and a ``LIMIT 1`` query by Id;
* create — ``sf.Lead.create`` of one Lead (assignment rules on, one rule entry);
* update — ``sf.Lead.update`` of one Lead;
* collections — ``composite/sobjects`` POST of 200 Leads, reported as records/s.

Figures: median and min–max over the rounds; the state is in memory unless --state is given.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from journey.emulator import EmulatedOrg

SEED = {
    "User": [{"Name": "Bench Admin", "Email": "bench@acme.example", "connected": True}],
    "Group": [{"Name": "EMEA", "Type": "Queue", "Email": "emea@acme.example"}],
    "AssignmentRule": [
        {"entries": [{"criteria": "Country = 'Germany'", "owner": "emea@acme.example"}]}
    ],
}


def rate(calls: int, action: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(calls):
        action(i)
    return calls / (time.perf_counter() - started)


def summary(name: str, rates: list[float], unit: str) -> str:
    return (
        f"{name:<34} median {statistics.median(rates):8.0f} {unit}"
        f"   (min {min(rates):.0f}, max {max(rates):.0f}, {len(rates)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 50 calls")
    parser.add_argument("--leads", type=int, default=2000, help="Leads in the org (2000)")
    parser.add_argument("--state", type=Path, help="keep the org in this folder (SQLite file)")
    args = parser.parse_args()
    rounds, calls = (3, 50) if args.quick else (5, 300)
    state = args.state

    with EmulatedOrg(state, SEED, api_limit=10_000_000) as org:
        org.insert(
            "Lead",
            (
                {"LastName": f"Lead {i}", "Company": "Bench", "Email": f"lead{i}@bench.example"}
                for i in range(args.leads)
            ),
        )
        sf = org.client()
        some_id = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
        results: dict[str, list[float]] = {
            k: [] for k in ("scan", "by_id", "create", "update", "collections")
        }
        for _ in range(rounds):
            results["scan"].append(
                rate(
                    calls,
                    lambda i: sf.query(
                        "SELECT Id, Name, Owner.Name FROM Lead "
                        f"WHERE Email = 'lead{i}@bench.example'"
                    ),
                )
            )
            results["by_id"].append(
                rate(
                    calls,
                    lambda i: sf.query(f"SELECT Id, Name FROM Lead WHERE Id = '{some_id}' LIMIT 1"),
                )
            )
            results["create"].append(
                rate(
                    calls,
                    lambda i: sf.Lead.create(
                        {
                            "LastName": f"New {i}",
                            "Company": "Bench",
                            "Country": "Germany" if i % 2 else "France",
                        }
                    ),
                )
            )
            results["update"].append(
                rate(calls, lambda i: sf.Lead.update(some_id, {"Title": f"Title {i}"}))
            )
            batches = max(calls // 50, 2)
            per_second = rate(
                batches,
                lambda i: sf.restful(
                    "composite/sobjects",
                    method="POST",
                    json={
                        "records": [
                            {
                                "attributes": {"type": "Lead"},
                                "LastName": f"B{i}-{j}",
                                "Company": "Bench",
                            }
                            for j in range(200)
                        ]
                    },
                ),
            )
            results["collections"].append(per_second * 200)
        leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
        print(
            f"emulated org, loopback HTTPS, simple-salesforce; {args.leads} Leads at start, "
            f"{leads} at the end; {calls} calls per round"
        )
        print(summary(f"query, scan of {args.leads}+ Leads", results["scan"], "queries/s"))
        print(summary("query by Id", results["by_id"], "queries/s"))
        print(summary("create one Lead", results["create"], "writes/s"))
        print(summary("update one Lead", results["update"], "writes/s"))
        print(summary("collections, 200 Leads a call", results["collections"], "records/s"))
        print(f"API calls counted: {org.api_calls}")


if __name__ == "__main__":
    main()
