"""Engine benchmark: contact-steps per second and peak memory, dry run and durable.

    .venv/bin/python bench/engine.py                 # the full run (a few minutes)
    .venv/bin/python bench/engine.py --quick         # small sizes, to try it out

A 10-step journey (local actions, conditions, a split, a wait, a connector action for half
the contacts) taken by N contacts:

* dry run — in memory, virtual time (``engine.dryrun``), records not kept, contacts made
  as they are taken; goal ≥ 300,000 contact-steps/s at N = 100,000, memory flat; printed
  with its rate per CPU second and the floor of plain dict work (``bench/floor.py``);
* durable — a real SQLite file (WAL), contacts imported through ``engine.intake``, runs
  advanced by ``engine.runner`` in batches, effects through the recorder with its crash
  journal; goal ≥ 20,000 contact-steps/s, memory flat as N grows.

Each measurement runs in a fresh child process so its peak RSS (``ru_maxrss``) is its own.
Figures: median and min–max over the repetitions.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

JOURNEY = """journey "Bench"
trigger added to list "Bench"
update field "Stage" to "started"
if field "Score" > 50:
    add to list "High"
else:
    update field "Stage" to "low"
split 50% / 50%:
    path:
        update field "Plan Tier" to "A"
    path:
        update field "Plan Tier" to "B"
wait 1 day
if field "Rating" is "Hot" or in list "High":
    send notification "Hi {{First Name}}" to "ops@acme.example"
else:
    add to list "Cold"
update field "Stage" to "done"
remove from list "Bench"
"""
STEPS_PER_CONTACT = 10
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIELDS = {"Stage": "Text", "Score": "Number", "Plan Tier": "Text"}


def _row(i: int) -> dict[str, str]:
    return {
        "Email": f"c{i}@bench.example",
        "First Name": f"C{i}",
        "Score": str(i % 100),
        "Rating": "Hot" if i % 7 == 0 else "Warm",
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_dry(n: int) -> dict[str, float]:
    """The dry run over ``n`` contacts made as they are taken (as a CSV streams them), so
    peak memory is the dry run's own; ``floor``: ``bench/floor.py``'s figure, same process."""
    import importlib.util

    from journey.dsl import compile_source
    from journey.engine.conditions import Evaluator
    from journey.engine.config import STANDARD_FIELDS
    from journey.engine.contact import ContactView
    from journey.engine.dryrun import iter_dry_run

    journey, _ = compile_source(JOURNEY)
    assert journey is not None
    views = (ContactView.from_fields(i + 1, _row(i)) for i in range(n))
    evaluator = Evaluator(None, {**STANDARD_FIELDS, **FIELDS})
    start, cpu = time.perf_counter(), time.process_time()
    steps = sum(p.steps for p in iter_dry_run(journey, views, T0, evaluator, keep_records=False))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert steps == n * STEPS_PER_CONTACT, steps
    spec = importlib.util.spec_from_file_location("floor", Path(__file__).with_name("floor.py"))
    assert spec is not None
    assert spec.loader is not None
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    return {
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "steps_per_cpu_s": steps / cpu,
        "floor_per_cpu_s": floor.floor(min(n, 10_000)),
        "peak_mb": _peak_mb(),
    }


def one_durable(n: int) -> dict[str, float]:
    from journey.connectors.recording import JournalingConnector
    from journey.dsl import compile_source
    from journey.engine.conditions import Evaluator
    from journey.engine.config import STANDARD_FIELDS
    from journey.engine.contacts import ContactContext
    from journey.engine.intake import import_rows
    from journey.engine.journeys import Catalog
    from journey.engine.runner import Runner
    from journey.engine.store import open_store

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/state.db")
        fields = {**STANDARD_FIELDS, **FIELDS}
        evaluator = Evaluator(None, fields)
        journey, _ = compile_source(JOURNEY)
        assert journey is not None
        catalog = Catalog(store=store)
        catalog.add(journey, JOURNEY, "bench.journey")
        catalog.publish(T0)
        start = time.perf_counter()
        import_rows(
            store,
            ((i + 2, _row(i)) for i in range(n)),
            ContactContext(fields, evaluator, T0),
            "Bench",
        )
        imported = time.perf_counter() - start
        connector = JournalingConnector(journal=Path(folder) / "recorder.db")
        runner = Runner(store, catalog, connector, evaluator, fields, batch_size=2000)
        start = time.perf_counter()
        first = runner.run_until_idle(T0)
        second = runner.run_until_idle(T0 + timedelta(days=1))
        elapsed = time.perf_counter() - start
        steps = first.steps + second.steps
        assert steps == n * STEPS_PER_CONTACT, steps
        assert second.ended == n, second
        connector.close()
        store.close()
    return {
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "import_s": imported,
        "peak_mb": _peak_mb(),
    }


def _child(kind: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _fmt(values: list[float], unit: str = "", digits: int = 0) -> str:
    med = statistics.median(values)
    return f"{med:,.{digits}f}{unit} (min–max {min(values):,.{digits}f}–{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, n = args.one[0], int(args.one[1])
        print(json.dumps(one_dry(n) if kind == "dry" else one_durable(n)))
        return
    big = 10_000 if args.quick else 100_000
    repeat = 1 if args.quick else args.repeat
    sizes = [big // 10, big // 3, big]
    print(f"journey: {STEPS_PER_CONTACT} steps per contact; {repeat} repetitions per figure\n")
    for kind, label, goal in (
        ("dry", "dry run (memory)", 300_000),
        ("durable", "durable (SQLite)", 20_000),
    ):
        print(label)
        for n in sizes:
            runs = [_child(kind, n) for _ in range(repeat if n == big else 1)]
            rate = [r["steps_per_s"] for r in runs]
            line = (
                f"  {n:>7,} contacts: {_fmt(rate)} contact-steps/s, "
                f"peak RSS {_fmt([r['peak_mb'] for r in runs], ' MB')}"
            )
            if kind == "durable":
                line += f", import {_fmt([r['import_s'] for r in runs], ' s', 1)}"
            else:
                line += (
                    f"\n{'':>20}per CPU second {_fmt([r['steps_per_cpu_s'] for r in runs])}, "
                    f"floor (bench/floor.py) {_fmt([r['floor_per_cpu_s'] for r in runs])}"
                )
            print(line, flush=True)
        print(f"  goal at {big:,}: ≥ {goal:,} contact-steps/s\n")


if __name__ == "__main__":
    main()
