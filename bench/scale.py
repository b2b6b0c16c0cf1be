"""Scale-out benchmark: contact-steps per second with 1, 2 and 4 ``journey worker`` processes
on one PostgreSQL store, in one run.

    .venv/bin/python bench/scale.py                        # 100,000 contacts (long)
    .venv/bin/python bench/scale.py --contacts 10000       # smaller
    .venv/bin/python bench/scale.py --org --contacts 2000  # a standalone emulated org

N contacts take a 10-step journey (field updates, conditions, a split, list changes, one
Salesforce action). For each worker count: a fresh database on a PostgreSQL server this
script starts (``initdb`` + ``pg_ctl``, as the tests do, stopped at the end), the contacts
imported with ``journey contacts import`` (not timed), then that many ``journey worker
--exit-when-idle --no-sync`` processes started together; the time is from their start to
the moment every contact's run has ended. Figures per worker count: contact-steps/s, the
ratio to one worker (goal on 2 cores: 2 workers ≥ 1.7×), each worker's peak RSS
(``wait4``'s ``ru_maxrss``), and the API calls the org counted.

Which connector: by default the recording connector (``JOURNEY_CONNECTOR=recording``): it
measures what issue 14 scales — the workers, their claims and the shared store — and
nothing else; an emulated org is one process on one SQLite file, which at 100,000
contacts would be the bottleneck and hide the workers' scaling (API calls: none, as
nothing reaches an org). ``--org`` runs against a standalone emulated org over HTTPS
(``journey salesforce emulator``) instead, so the API calls are real and counted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pgserver import Server, postgres
from scale_probe import Sampler, process_cpu, read_pg_cpu

JOURNEY = """journey "Scale"
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
add to list "Salesforce Leads"
if field "Rating" is "Hot" or in list "High":
    add to list "Hot"
else:
    add to list "Cold"
update field "Stage" to "done"
remove from list "Bench"
"""
STEPS_PER_CONTACT = 10
Org = dict[str, Any] | None
TOML = '[fields]\n"Stage" = "Text"\n"Score" = "Number"\n"Plan Tier" = "Text"\n'
JOURNEY_BIN = Path(sys.executable).with_name("journey")


@contextmanager
def emulated_org(folder: Path) -> Iterator[dict[str, Any]]:
    """``journey salesforce emulator`` in its own process; what its JSON line said."""
    folder.mkdir(parents=True)
    seed = folder / "seed.json"
    seed.write_text(json.dumps({"User": [{"Name": "Ann", "Email": "ann@acme.example"}]}))
    process = subprocess.Popen(
        [
            *(str(JOURNEY_BIN), "salesforce", "emulator", "--port", "0", "--json"),
            *("--seed", str(seed), "--state", str(folder / "state")),
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info: dict[str, Any] = json.loads(process.stdout.readline())
        info["ca_file"] = str((folder / info["ca_file"]).resolve())
        yield info
    finally:
        process.terminate()
        process.wait(timeout=30)


def _org_calls(org: dict[str, Any]) -> int:
    import requests

    session = requests.Session()
    session.trust_env = False
    answer = session.get(
        org["admin_url"],
        headers={"X-Emulator-Admin": org["admin_token"]},
        verify=org["ca_file"],
        timeout=30,
    )
    answer.raise_for_status()
    return int(answer.json()["api_usage"]["used"])


_UNFINISHED = (
    "SELECT EXISTS (SELECT 1 FROM runs WHERE status IN ('active', 'waiting', 'effect'))"
    " OR EXISTS (SELECT 1 FROM events WHERE NOT processed)"
)
_ENDED = "SELECT count(*) FROM runs WHERE status NOT IN ('active', 'waiting', 'effect')"
_SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> ALL(%s)"
)


def _project(folder: Path, contacts: int, workers: int, url: str, org: Org) -> dict[str, str]:
    """The run's project folder, its contacts imported (not timed); the workers' env."""
    (folder / "journeys").mkdir(parents=True)
    (folder / "journeys" / "scale.journey").write_text(JOURNEY)
    env = {k: v for k, v in os.environ.items() if k != "JOURNEY_CONNECTOR"}
    env["JOURNEY_DATABASE_URL"] = url
    toml = TOML
    if org is None:
        env["JOURNEY_CONNECTOR"] = "recording"
    else:
        env["SF_SESSION"] = org["session_id"]
        toml = (
            f'[salesforce]\ninstance_url = "{org["instance_url"]}"\n'
            f'session_id_env = "SF_SESSION"\nca_file = "{org["ca_file"]}"\n\n' + TOML
        )
    (folder / "journey.toml").write_text(toml)
    rows = ["Email,First Name,Last Name,Company,Score,Rating"] + [
        f"w{workers}c{i}@scale.example,C{i},P{i},Co {i % 97},{i % 100},"
        + ("Hot" if i % 7 == 0 else "Warm")
        for i in range(contacts)
    ]
    (folder / "contacts.csv").write_text("\n".join(rows) + "\n")
    subprocess.run(
        [str(JOURNEY_BIN), "contacts", "import", "contacts.csv", "--list", "Bench"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def one_run(
    server: Server,
    folder: Path,
    contacts: int,
    workers: int,
    org: Org,
    poll: float,
    no_stats: bool = False,
) -> dict[str, Any]:
    """One worker count on a fresh database: the figures of the module docstring."""
    import psycopg

    name = f"scale{workers}"
    plain = server.url.replace("+psycopg", "")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    root = folder / name
    env = _project(root, contacts, workers, f"{server.url}/{name}", org)
    calls_before = _org_calls(org) if org else 0
    # Let the import's autovacuum end, so the run is charged for its own work only.
    monitor = psycopg.connect(f"{plain}/{name}", autocommit=True)
    monitor.execute("VACUUM ANALYZE")
    sampler = Sampler(f"{plain}/{name}", server.postmaster)
    ours = [sampler.pid, int(monitor.execute("SELECT pg_backend_pid()").fetchone()[0])]
    ours_before = sum(process_cpu(p) for p in ours)
    pg_before = read_pg_cpu(server.postmaster)
    sampler.start()
    start = time.perf_counter()
    command = [str(JOURNEY_BIN), "worker", "--exit-when-idle", "--no-sync", "--poll", str(poll)]
    outputs = [root / f"worker{n}.jsonl" for n in range(workers)]
    processes = []
    for out in outputs:
        with out.open("w") as sink:
            processes.append(
                subprocess.Popen(
                    [*command, "--json", *(() if no_stats else ("--stats",))],
                    cwd=root,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.DEVNULL,
                )
            )
    finished: float | None = None
    usage: dict[int, tuple[float, float]] = {}  # pid: (peak RSS MB, CPU s)
    next_look = 0.0
    while len(usage) < workers:
        for process in processes:
            if process.pid in usage:
                continue
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                usage[pid] = (rusage.ru_maxrss / 1024, rusage.ru_utime + rusage.ru_stime)
        if finished is None and time.perf_counter() >= next_look:
            next_look = time.perf_counter() + 0.25
            if not monitor.execute(_UNFINISHED).fetchone()[0]:
                finished = time.perf_counter()
        time.sleep(0.05)
    finished = finished or time.perf_counter()
    lasted = time.perf_counter() - start
    sampler.stop()
    # Sessions end a moment after their client: wait for their CPU to be reaped.
    for _ in range(100):
        if not monitor.execute(_SESSIONS, (ours,)).fetchone()[0]:
            break
        time.sleep(0.05)
    pg_after = read_pg_cpu(server.postmaster)
    ours_cpu = sum(process_cpu(p) for p in ours) - ours_before
    ended = int(monitor.execute(_ENDED).fetchone()[0])
    monitor.close()
    sampler.close()
    if ended != contacts:
        raise SystemExit(f"{ended} of {contacts} runs ended after the workers stopped")
    seconds = finished - start
    steps = contacts * STEPS_PER_CONTACT
    vacuum = sum(sampler.autovacuum.values())
    cpu = {
        "workers": sum(c for _, c in usage.values()),
        "postgres sessions": pg_after.sessions - pg_before.sessions - ours_cpu - vacuum,
        "autovacuum": vacuum,
        "postgres background": pg_after.background - pg_before.background,
    }
    cpu["total"] = sum(cpu.values())
    return {
        "workers": workers,
        "seconds": seconds,
        "workers_lasted_s": lasted,
        "contact_steps_per_s": steps / seconds,
        "peak_rss_mb": sorted(mb for mb, _ in usage.values()),
        "api_calls": (_org_calls(org) - calls_before) if org else 0,
        "exit_codes": sorted(p.returncode for p in processes),
        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_s_per_1k_steps": {k: round(v * 1000 / steps, 4) for k, v in cpu.items()},
        "cores_busy": round(cpu["total"] / seconds, 2),
        "probe_cpu_s": round(ours_cpu, 2),
        "postgres": sampler.summary(),
        "worker_stats": [_stats(out) for out in outputs],
    }


def _stats(output: Path) -> dict[str, Any]:
    """The ``stats`` line a worker printed at its stop (``journey worker --stats``)."""
    for line in reversed(output.read_text().splitlines()):
        if line.startswith("{") and json.loads(line).get("kind") == "stats":
            found: dict[str, Any] = json.loads(line)
            return found
    return {}


def _fleet(stats: list[dict[str, Any]]) -> dict[str, float]:
    """The workers' stats summed: their loop time, spent working, waiting, claiming."""
    total: dict[str, float] = {}
    for s in stats:
        for part in ("worker", "claims"):
            for k, v in s.get(part, {}).items():
                total[k] = total.get(k, 0) + v
    return total


def _print(r: dict[str, Any], one: float | None) -> None:
    ratio = f"{r['contact_steps_per_s'] / one:.2f}x" if one else "-"
    rss = ", ".join(f"{mb:.0f}" for mb in r["peak_rss_mb"])
    print(
        f"  {r['workers']} worker(s): {r['contact_steps_per_s']:,.0f} contact-steps/s "
        f"({r['seconds']:.1f} s), {ratio} of 1 worker, peak RSS per worker {rss} MB, "
        f"{r['api_calls']} API calls, exits {r['exit_codes']}"
    )
    per = r["cpu_s_per_1k_steps"]
    print(
        "    CPU s per 1,000 contact-steps: "
        + ", ".join(f"{k} {v:.3f}" for k, v in per.items())
        + f"; {r['cores_busy']:.2f} cores busy on average"
    )
    pg = r["postgres"]
    sessions = ", ".join(f"{k} {v:.2f}" for k, v in pg["sessions"].items())
    waits = ", ".join(f"{k} {v:.2f}" for k, v in pg["waits"].items()) or "none"
    print(
        f"    PostgreSQL sessions on average: {sessions}; lock requests waiting "
        f"{pg['locks_waiting']:.2f}; waits: {waits}"
    )
    if pg["lock_waits_by_statement"]:
        print(f"    lock waits by statement (samples): {pg['lock_waits_by_statement']}")
    f = _fleet(r["worker_stats"])
    if not f:
        print("    workers: no --stats (--no-stats)")
        return
    loop = f.get("loop_seconds", 0) or 1
    print(
        f"    workers: {f.get('pass_seconds', 0) / loop:.0%} of their loop in passes, "
        f"{f.get('wait_seconds', 0) / loop:.0%} waiting between passes "
        f"({f.get('waits', 0):.0f} waits, {f.get('woken', 0):.0f} woken early, "
        f"{f.get('idle_passes', 0):.0f} idle passes); "
        f"startup and stop {1 - loop / (r['workers_lasted_s'] * r['workers']):.0%}; claims: "
        f"{f.get('runs', 0):.0f} runs in {f.get('batches', 0):.0f} batches, "
        f"{f.get('empty', 0):.0f} empty, {f.get('missed', 0):.0f} runs missed to another "
        f"worker, {f.get('lost', 0):.0f} batches lost at the fence"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--org", action="store_true", help="a standalone emulated org")
    parser.add_argument("--poll", type=float, default=0.2, help="the workers' --poll")
    parser.add_argument("--quick", action="store_true", help="5,000 contacts, 1 and 2 workers")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    parser.add_argument(
        "--no-stats",
        action="store_true",
        help="workers without --stats (to measure a release from before it)",
    )
    args = parser.parse_args()
    if args.quick:
        args.contacts, args.workers = 5_000, [1, 2]
    folder = Path(tempfile.mkdtemp(prefix="journey-scale-"))
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    results = []
    try:
        with (
            postgres(fsync=False) as server,
            emulated_org(folder / "org") if args.org else _none() as org,
        ):
            for workers in args.workers:
                results.append(
                    one_run(server, folder, args.contacts, workers, org, args.poll, args.no_stats)
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    one = results[0]["contact_steps_per_s"] if results[0]["workers"] == 1 else None
    if args.json:
        print(json.dumps({"load": [load_before, load_after], "results": results}, indent=1))
        return
    connector = "a standalone emulated org" if args.org else "the recording connector"
    print(
        f"{args.contacts} contacts x {STEPS_PER_CONTACT} steps, PostgreSQL, {connector}, "
        f"{os.cpu_count()} cores; load average {' '.join(load_before)} before, "
        f"{' '.join(load_after)} after"
    )
    for r in results:
        _print(r, one)


@contextmanager
def _none() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
