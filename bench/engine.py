"""Engine benchmark: contact-steps per second and peak memory, dry run and durable.

    .venv/bin/python bench/engine.py                 # the full run (a few minutes)
    .venv/bin/python bench/engine.py --quick         # small sizes, to try it out
    .venv/bin/python bench/engine.py --dry-only      # the dry run alone (under a minute)
    .venv/bin/python bench/engine.py --store postgres --pg-url postgresql+psycopg://...
    .venv/bin/python bench/engine.py --quick --store sqlite --profile   # one cProfile

A 10-step journey (local actions, conditions, a split, a wait, a connector action for half
the contacts) taken by N contacts:

* dry run — in memory, virtual time (``engine.dryrun``), records not kept, contacts made
  as they are taken; goal ≥ 300,000 contact-steps/s at N = 100,000, memory flat; printed
  with its rate per CPU second and the floor of plain dict work (``bench/floor.py``);
* durable — the store (``--store sqlite|postgres|both``: a real SQLite file in WAL mode,
  a PostgreSQL database on a server this script starts with ``initdb`` + ``pg_ctl``, or the
  server of ``--pg-url``), contacts imported through ``engine.intake``, runs advanced by
  ``engine.runner`` in batches, effects through the journaling connector with its crash
  journal; goal ≥ 50,000 contact-steps/s on SQLite and ≥ 30,000 on PostgreSQL, memory
  flat as N grows. Besides the rate it prints the runner's own CPU seconds (the figure to
  compare on a loaded machine: the database server's are not in it) and the SQL
  statements the store received per contact-step; on PostgreSQL also how many statements
  the runner's session had prepared at the end (``pg_prepared_statements``).

Each measurement runs in a fresh child process (and, on PostgreSQL, a fresh database) so
its peak RSS (``ru_maxrss``) is its own. Figures: median and min–max over the repetitions.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgserver import fresh_database, postgres

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


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_durable(n: int, url: str = "", profile: bool = False) -> dict[str, float]:
    """``n`` contacts through the journey on the store at ``url`` (a SQLite file in a
    temporary folder when empty); ``profile`` prints the runner's cProfile to stderr."""
    import sqlalchemy as sa

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
        store = open_store(url or f"sqlite:///{folder}/state.db")
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
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        sa.event.listen(store.engine, "before_cursor_execute", count)
        profiler = cProfile.Profile() if profile else None
        cpu, start = _cpu_s(), time.perf_counter()
        if profiler:
            profiler.enable()
        first = runner.run_until_idle(T0)
        second = runner.run_until_idle(T0 + timedelta(days=1))
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu
        steps = first.steps + second.steps
        assert steps == n * STEPS_PER_CONTACT, steps
        assert second.ended == n, second
        prepared = _prepared(store.engine) if url else 0
        connector.close()
        store.close()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    return {
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "cpu_s": cpu,
        "statements_per_step": statements / steps,
        "import_s": imported,
        "peak_mb": _peak_mb(),
        "prepared": prepared,
    }


def _prepared(engine: Any) -> int:
    """The statements the session the runner used last has prepared (the pool hands it
    out first): its hot statements should all be there, planned once per session."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar())


# ---------------------------------------------------------------------- PostgreSQL


def _drop(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _child(kind: str, n: int, url: str = "", profile: bool = False) -> dict[str, float]:
    argv = [sys.executable, __file__, "--one", kind, str(n)]
    argv += ["--child-url", url] if url else []
    argv += ["--profile"] if profile else []
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    if profile:
        print(out.stderr, file=sys.stderr)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _fmt(values: list[float], unit: str = "", digits: int = 0) -> str:
    med = statistics.median(values)
    return f"{med:,.{digits}f}{unit} (min–max {min(values):,.{digits}f}–{max(values):,.{digits}f})"


def _durable(store: str, sizes: list[int], repeat: int, base: str, profile: bool) -> None:
    """The durable figures on one store: SQLite, or PostgreSQL on the server at ``base``."""
    goal = 50_000 if store == "sqlite" else 30_000
    big = sizes[-1]
    print(f"durable ({'SQLite' if store == 'sqlite' else 'PostgreSQL'})")
    for n in sizes:
        runs = []
        for _ in range(repeat if n == big else 1):
            url = fresh_database(base, "bench_engine") if store == "postgres" else ""
            runs.append(_child("durable", n, url, profile and n == big))
            if url:
                _drop(url)
        line = (
            f"  {n:>7,} contacts: {_fmt([r['steps_per_s'] for r in runs])} contact-steps/s, "
            f"runner CPU {_fmt([r['cpu_s'] for r in runs], ' s', 2)}, "
            f"{_fmt([r['statements_per_step'] for r in runs], '', 4)} statements/step, "
            f"peak RSS {_fmt([r['peak_mb'] for r in runs], ' MB')}, "
            f"import {_fmt([r['import_s'] for r in runs], ' s', 1)}"
        )
        if store == "postgres":
            line += f", {_fmt([r.get('prepared', 0) for r in runs])} statements prepared"
        print(line, flush=True)
    print(f"  goal at {big:,}: ≥ {goal:,} contact-steps/s\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--store", choices=["sqlite", "postgres", "both"], default="both", help="durable stores"
    )
    parser.add_argument("--pg-url", help="a PostgreSQL server to use (base URL, no database)")
    parser.add_argument("--durable-only", action="store_true", help="skip the dry run")
    parser.add_argument("--dry-only", action="store_true", help="only the dry run")
    parser.add_argument(
        "--profile", action="store_true", help="print the largest durable run's cProfile"
    )
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--child-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, n = args.one[0], int(args.one[1])
        one = one_dry(n) if kind == "dry" else one_durable(n, args.child_url, args.profile)
        print(json.dumps(one))
        return
    big = 10_000 if args.quick else 100_000
    repeat = 1 if args.quick else args.repeat
    sizes = [big // 10, big // 3, big]
    print(f"journey: {STEPS_PER_CONTACT} steps per contact; {repeat} repetitions per figure\n")
    if not args.durable_only:
        print("dry run (memory)")
        for n in sizes:
            runs = [_child("dry", n) for _ in range(repeat if n == big else 1)]
            rate = [r["steps_per_s"] for r in runs]
            print(
                f"  {n:>7,} contacts: {_fmt(rate)} contact-steps/s, "
                f"peak RSS {_fmt([r['peak_mb'] for r in runs], ' MB')}\n"
                f"{'':>20}per CPU second {_fmt([r['steps_per_cpu_s'] for r in runs])}, "
                f"floor (bench/floor.py) {_fmt([r['floor_per_cpu_s'] for r in runs])}",
                flush=True,
            )
        print(f"  goal at {big:,}: ≥ {300_000:,} contact-steps/s\n")
    if args.dry_only:
        print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
        return
    if args.store in ("sqlite", "both"):
        _durable("sqlite", sizes, repeat, "", args.profile)
    if args.store in ("postgres", "both"):
        if args.pg_url:
            _durable("postgres", sizes, repeat, args.pg_url.rstrip("/"), args.profile)
        else:
            with postgres() as server:
                _durable("postgres", sizes, repeat, server.url, args.profile)
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
