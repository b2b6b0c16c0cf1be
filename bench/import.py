"""Import benchmark: ``journey contacts import`` of a CSV file, on SQLite and on PostgreSQL.

    .venv/bin/python bench/import.py                  # 50,000 contacts, both stores, 3 runs
    .venv/bin/python bench/import.py --quick          # 5,000 contacts, one run: a small try
    .venv/bin/python bench/import.py --mode all       # new file, re-import, half-new file
    .venv/bin/python bench/import.py --store sqlite   # one store only
    .venv/bin/python bench/import.py --profile        # one run's profile (cumulative, top 25)
    .venv/bin/python bench/import.py --via rows       # the row-by-row reference, to compare
    .venv/bin/python bench/import.py --command        # the command's fixed cost (20 contacts)

Each run writes a CSV of N contacts (email, names, a company, a number and a date field,
one email in ten repeated in another letter case, so de-duplication is exercised) and
imports it with ``--list`` through the same call the command makes, in a fresh child
process, so its CPU time and peak RSS (``ru_maxrss``) are its own. Modes: ``new`` imports
into an empty store; ``again`` imports the file a second time, every contact existing
(nothing changes); ``half`` imports it over a store holding the first half of its rows.
Peak RSS is printed for N and for 4N rows (``new``), which should be about the same:
memory is flat in the file's size. PostgreSQL: a server of its own is started for the
bench (``initdb`` + ``pg_ctl`` in a temporary folder, as ``postgres`` when run as root,
like tests/conftest.py) and stopped at the end. Figures: contacts/s (median and min-max
over the runs, wall clock), the import's CPU seconds (median) and the machine's load.

``--command`` measures what every ``journey contacts import`` pays whatever its file: the
whole process (``journey contacts import`` of 20 contacts into a new project made by
``journey init``, its store new each time, ``--json``), CPU seconds of the process from
``getrusage`` and wall time, median of ``--runs`` (at least 5), after one untimed run
that leaves the bytecode compiled, as an installed package has it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgserver import fresh_database, postgres

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIELDS = {"Score": "Number", "Signed Up": "Date"}


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Company,Score,Signed Up\n")
        for i in range(n):
            # One row in ten repeats an earlier contact's email in capitals: the same person.
            email = f"P{i - 5}@EXAMPLE.COM" if i % 10 == 9 else f"p{i}@example.com"
            out.write(f"{email},Ann{i},Lee{i},Co {i % 500},{i % 100},2026-01-{i % 28 + 1:02d}\n")


def _import(store: Any, path: Path, ctx: Any, via: str) -> Any:
    from journey.engine.intake import import_rows, read_csv

    if via == "rows":
        return import_rows(store, read_csv(path), ctx, "Bench", bulk=False)
    if via == "intake":
        return import_rows(store, read_csv(path), ctx, "Bench")
    from journey.engine.csv_import import import_file

    return import_file(store, path, ctx, "Bench")


def one(url: str, n: int, mode: str, via: str, profile: bool) -> dict[str, float]:
    from journey.engine.conditions import Evaluator
    from journey.engine.config import STANDARD_FIELDS
    from journey.engine.contacts import ContactContext
    from journey.engine.store import open_store

    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "people.csv"
        write_csv(csv_path, n)
        store = open_store(url.replace("{folder}", folder))
        fields = {**STANDARD_FIELDS, **FIELDS}
        ctx = ContactContext(fields, Evaluator(None, fields), T0)
        if mode == "again":
            _import(store, csv_path, ctx, "file")
        elif mode == "half":
            first = Path(folder) / "first-half.csv"
            write_csv(first, n // 2)
            _import(store, first, ctx, "file")
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU time: the machine may be busy
            profiler.enable()
        cpu = time.process_time()
        start = time.perf_counter()
        report = _import(store, csv_path, ctx, via)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        store.close()
    assert report.errors == [], report.errors[:3]
    expected = {"new": n - n // 10, "again": 0, "half": n - n // 10 - (n // 2 - n // 20)}
    assert report.created == expected[mode], report
    return {
        "contacts_per_s": n / elapsed,
        "seconds": elapsed,
        "cpu_s": cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(url: str, n: int, mode: str, via: str, profile: bool) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", url, "--contacts", str(n)]
    argv += ["--mode", mode, "--via", via] + (["--profile"] if profile else [])
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    if profile:
        print(done.stderr, file=sys.stderr)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _command_cost(runs: int) -> None:
    script = Path(sys.executable).parent / "journey"
    journey = [str(script)] if script.exists() else [sys.executable, "-m", "journey"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        subprocess.run(
            [*journey, "init", str(project), "--json"],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        write_csv(project / "people.csv", 20)
        args = [*journey, "contacts", "import", "people.csv", "--list", "Bench", "--json"]
        walls, cpus = [], []
        for index in range(runs + 1):
            shutil.rmtree(project / ".journey", ignore_errors=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(args, cwd=project, env=env, check=True, capture_output=True, timeout=120)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if index:  # the first run compiles the bytecode
                walls.append(wall)
                cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(
        f"  command          CPU {statistics.median(cpus):.3f} s (min {min(cpus):.3f}, "
        f"max {max(cpus):.3f})   wall {statistics.median(walls):.3f} s   over {runs} runs",
        flush=True,
    )


def _report(name: str, runs: list[dict[str, float]]) -> None:
    rates = [r["contacts_per_s"] for r in runs]
    cpu = statistics.median(r["cpu_s"] for r in runs)
    peak = max(r["peak_mb"] for r in runs)
    print(
        f"  {name:<16} {statistics.median(rates):>9,.0f} contacts/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f})   CPU {cpu:.2f} s   "
        f"peak RSS {peak:.0f} MB",
        flush=True,
    )


def _store_runs(
    store: str, base: str, args: argparse.Namespace, modes: list[str], runs: int
) -> None:
    def url() -> str:
        return "sqlite:///{folder}/state.db" if store == "sqlite" else fresh_database(base)

    for mode in modes:
        results = [_child(url(), args.contacts, mode, args.via, args.profile) for _ in range(runs)]
        _report(f"{store} {mode}", results)
    if not args.profile and not args.quick:
        big = _child(url(), args.contacts * 4, "new", args.via, False)
        print(
            f"  {store + ' RSS':<16} peak RSS {max(r['peak_mb'] for r in [big]):.0f} MB at "
            f"{args.contacts * 4:,} rows ({big['contacts_per_s']:,.0f} contacts/s)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--mode", choices=["new", "again", "half", "all"], default="new")
    parser.add_argument(
        "--via",
        choices=["file", "intake", "rows"],
        default="file",
        help="file: the command's path (engine.csv_import); intake: intake.import_rows; "
        "rows: its row-by-row reference",
    )
    parser.add_argument("--quick", action="store_true", help="5,000 contacts, one run")
    parser.add_argument("--profile", action="store_true", help="print one run's profile")
    parser.add_argument(
        "--command", action="store_true", help="the command's fixed cost on 20 contacts"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.contacts, args.mode, args.via, args.profile)))
        return
    if args.command:
        print(
            "journey contacts import, 20 contacts, new store: the fixed cost; load average "
            f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
            flush=True,
        )
        _command_cost(max(args.runs, 5))
        return
    if args.quick:
        args.contacts = 5_000
    runs = 1 if args.profile or args.quick else args.runs
    modes = ["new", "again", "half"] if args.mode == "all" else [args.mode]
    print(
        f"journey contacts import ({args.via}): {args.contacts:,} rows, median of {runs}; "
        f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        flush=True,
    )
    if args.store in ("sqlite", "both"):
        _store_runs("sqlite", "", args, modes, runs)
    if args.store in ("postgres", "both"):
        with postgres() as server:
            _store_runs("postgres", server.url, args, modes, runs)
    print(f"  load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
