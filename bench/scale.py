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
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

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
TOML = '[fields]\n"Stage" = "Text"\n"Score" = "Number"\n"Plan Tier" = "Text"\n'
JOURNEY_BIN = Path(sys.executable).with_name("journey")
PG_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")


def _pg(name: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in PG_DIRS if (Path(d) / name).exists()), None
    )
    if found is None:
        raise SystemExit(f"PostgreSQL's {name} is not installed")
    return found


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server for this run; its base URL."""
    root = Path(tempfile.mkdtemp(prefix="journey-scale-pg-"))
    sockets = root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = str(root / "data")
    subprocess.run(
        _as_postgres([_pg("initdb"), "-D", data, "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    ctl = _pg("pg_ctl")
    subprocess.run(
        _as_postgres([ctl, "-D", data, "-o", options, "-w", "-l", str(root / "log"), "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([ctl, "-D", data, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


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


def _ended(url: str) -> int:
    """Runs that reached their end (the contacts enter at the first pass, not the import)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM runs WHERE status NOT IN ('active', 'waiting', 'effect')"
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def one_run(
    base: str, folder: Path, contacts: int, workers: int, org: dict[str, Any] | None
) -> dict[str, Any]:
    name = f"scale{workers}"
    import psycopg

    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    root = folder / name
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "scale.journey").write_text(JOURNEY)
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
    (root / "journey.toml").write_text(toml)
    rows = ["Email,First Name,Last Name,Company,Score,Rating"] + [
        f"w{workers}c{i}@scale.example,C{i},P{i},Co {i % 97},{i % 100},"
        + ("Hot" if i % 7 == 0 else "Warm")
        for i in range(contacts)
    ]
    (root / "contacts.csv").write_text("\n".join(rows) + "\n")
    subprocess.run(
        [str(JOURNEY_BIN), "contacts", "import", "contacts.csv", "--list", "Bench"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    calls_before = _org_calls(org) if org else 0
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [str(JOURNEY_BIN), "worker", "--exit-when-idle", "--no-sync", "--poll", "0.2"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    finished: float | None = None
    peaks: dict[int, float] = {}
    while len(peaks) < workers:
        for process in processes:
            if process.pid in peaks:
                continue
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                peaks[process.pid] = usage.ru_maxrss / 1024
        if finished is None and _ended(url) >= contacts:
            finished = time.perf_counter()
        time.sleep(0.1)
    if finished is None:
        finished = time.perf_counter()
    seconds = finished - start
    ended = _ended(url)
    if ended != contacts:
        raise SystemExit(f"{ended} of {contacts} runs ended after the workers stopped")
    return {
        "workers": workers,
        "seconds": seconds,
        "contact_steps_per_s": contacts * STEPS_PER_CONTACT / seconds,
        "peak_rss_mb": sorted(peaks.values()),
        "api_calls": (_org_calls(org) - calls_before) if org else 0,
        "exit_codes": sorted(p.returncode for p in processes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--org", action="store_true", help="a standalone emulated org")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="journey-scale-"))
    results = []
    try:
        with postgres() as base, emulated_org(folder / "org") if args.org else _none() as org:
            for workers in args.workers:
                results.append(one_run(base, folder, args.contacts, workers, org))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    one = results[0]["contact_steps_per_s"] if results[0]["workers"] == 1 else None
    connector = "a standalone emulated org" if args.org else "the recording connector"
    print(f"{args.contacts} contacts x {STEPS_PER_CONTACT} steps, PostgreSQL, {connector}")
    for r in results:
        ratio = f"{r['contact_steps_per_s'] / one:.2f}x" if one else "-"
        rss = ", ".join(f"{mb:.0f}" for mb in r["peak_rss_mb"])
        print(
            f"  {r['workers']} worker(s): {r['contact_steps_per_s']:,.0f} contact-steps/s "
            f"({r['seconds']:.1f} s), {ratio} of 1 worker, peak RSS per worker {rss} MB, "
            f"{r['api_calls']} API calls, exits {r['exit_codes']}"
        )


@contextmanager
def _none() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
