"""Import benchmark: ``journey contacts import`` of a CSV file, on SQLite and on PostgreSQL.

    .venv/bin/python bench/import.py                  # 50,000 contacts, both stores, 3 runs
    .venv/bin/python bench/import.py --contacts 200000 --runs 1
    .venv/bin/python bench/import.py --store sqlite   # one store only
    .venv/bin/python bench/import.py --profile        # the top entries of one run's profile

Each run writes a CSV of N new contacts (email, names, a company, a number and a date field,
one email in ten repeated in another letter case, so de-duplication is exercised) and
imports it into a fresh store with ``--list``, through the same calls the command makes
(``engine.intake.read_csv`` + ``import_rows``), in a fresh child process, so its peak RSS
(``ru_maxrss``) is its own. PostgreSQL: a server of its own is started for the bench
(``initdb`` + ``pg_ctl`` in a temporary folder, as ``postgres`` when run as root, like
tests/conftest.py) and stopped at the end. Figures: contacts/s (median and min–max over
the runs) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIELDS = {"Score": "Number", "Signed Up": "Date"}
PG_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")


def write_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Company,Score,Signed Up\n")
        for i in range(n):
            # One row in ten repeats an earlier contact's email in capitals: the same person.
            email = f"P{i - 5}@EXAMPLE.COM" if i % 10 == 9 else f"p{i}@example.com"
            out.write(f"{email},Ann{i},Lee{i},Co {i % 500},{i % 100},2026-01-{i % 28 + 1:02d}\n")


def one(url: str, n: int, profile: bool) -> dict[str, float]:
    from journey.engine.conditions import Evaluator
    from journey.engine.config import STANDARD_FIELDS
    from journey.engine.contacts import ContactContext
    from journey.engine.intake import import_rows, read_csv
    from journey.engine.store import open_store

    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "people.csv"
        write_csv(csv_path, n)
        store = open_store(url.replace("{folder}", folder))
        fields = {**STANDARD_FIELDS, **FIELDS}
        ctx = ContactContext(fields, Evaluator(None, fields), T0)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        report = import_rows(store, read_csv(csv_path), ctx, "Bench")
        elapsed = time.perf_counter() - start
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        store.close()
    assert report.errors == [], report.errors[:3]
    assert report.created == n - n // 10, report
    return {
        "contacts_per_s": n / elapsed,
        "seconds": elapsed,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in PG_DIRS if (Path(d) / name).exists()), None
    )
    if found is None:
        raise SystemExit(f"PostgreSQL's {name} is not installed: run with --store sqlite")
    return found


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server for the bench; its base URL (no database)."""
    root = Path(tempfile.mkdtemp(prefix="journey-bench-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets}"
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "stop"]), check=False)
        shutil.rmtree(root, ignore_errors=True)


def _database(base: str) -> str:
    import psycopg

    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def _child(url: str, n: int, profile: bool) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", url, "--contacts", str(n)]
    done = subprocess.run(
        argv + (["--profile"] if profile else []), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    if profile:
        print(done.stderr, file=sys.stderr)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _report(name: str, runs: list[dict[str, float]]) -> None:
    rates = [r["contacts_per_s"] for r in runs]
    peak = max(r["peak_mb"] for r in runs)
    print(
        f"  {name:<10} {statistics.median(rates):>9,.0f} contacts/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f})   peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--profile", action="store_true", help="print one run's profile")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.contacts, args.profile)))
        return
    runs = 1 if args.profile else args.runs
    print(f"journey contacts import: {args.contacts:,} rows, median of {runs}")
    if args.store in ("sqlite", "both"):
        url = "sqlite:///{folder}/state.db"
        _report("sqlite", [_child(url, args.contacts, args.profile) for _ in range(runs)])
    if args.store in ("postgres", "both"):
        with postgres() as base:
            results = [_child(_database(base), args.contacts, args.profile) for _ in range(runs)]
        _report("postgres", results)


if __name__ == "__main__":
    main()
