"""Peer benchmark: the same routing flow in SpiffWorkflow and in journey, as whole processes.

    .venv/bin/python bench/peer.py                   # 10,000 contacts, medians of 3 runs
    .venv/bin/python bench/peer.py --quick           # 1,000 contacts, one run, to try it out
    .venv/bin/python bench/peer.py --contacts 50000 --runs 5 --spiff-each-step --json

The flow (bench/peer/routing.journey and bench/peer/routing.bpmn): two conditions —
``Annual Revenue`` over 1,000,000, ``Country`` is United States — and four local actions
(two field updates, two list additions), no Salesforce call on either side. One CSV of N
contacts (the same file for every side) goes through:

* SpiffWorkflow 3.2.0 in memory — ``bench/peer/spiff_run.py --mode memory``: one process
  that parses the BPMN and runs one workflow instance per row;
* SpiffWorkflow durable — ``--mode durable``: the same, each instance serialised with
  Spiff's ``BpmnWorkflowSerializer`` and committed to SQLite (WAL) when it has run (the
  module's docstring says exactly what is written); ``--spiff-each-step`` adds a row where
  the state is written after every task instead. After each durable run, untimed, Spiff
  restores a sample of the rows (``--check``), so what was saved is known to be resumable;
* ``journey dry-run FILE --contacts CSV --json`` — one process, in memory;
* ``journey contacts import CSV --list Inbound`` then ``journey run --until-idle`` in a
  fresh project made by ``journey init`` (its welcome journey replaced by routing.journey;
  the store a new SQLite file, the org the embedded emulated one) — two processes, timed
  together.

Spiff runs with its own venv, ``bench/.peer-venv``, made on first use (SpiffWorkflow is no
dependency of the project); journey with the interpreter running this script. Every side
is timed from process start to exit, so interpreter start, imports, parsing and (for
journey) the store's creation are in the figures. Before timing, each side runs once on a
few contacts, so the caches a user has after the first command (bytecode, journey's parser
tables) are warm for both; that round's CPU seconds are printed as each process's fixed
cost, what it spends before its first contact. The repetitions interleave the sides, so a
change in the machine's load falls on all of them alike.

Both sides must take every contact down the same path: each action's count (Spiff's
script tasks, the dry run's path entries, ``journey status``'s per-step counts) and, for
the dry run, each path's count must equal Spiff's; if not, the bench stops with the
difference. Figures: contacts/s from wall time (median, min–max), from the child
processes' CPU seconds (user + system, which a busy machine inflates less), and from CPU
seconds less the fixed cost (the rate a long-lived process would approach); the ratios
dry run ÷ Spiff in memory (goal ≥ 20×) and import + run ÷ Spiff durable (goal ≥ 10×) are
taken on the whole-process figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER = HERE / "peer"
VENV = HERE / ".peer-venv"
SPIFF = "SpiffWorkflow==3.2.0"
LIST = "Inbound"
AT = "2026-03-02T09:00:00+00:00"
WARM_CONTACTS = 20
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 3600
COUNTRIES = ("United States", "France", "Germany", "united states", "Japan")
# Variables that would point the journey side away from its defaults (a store or a connector
# other than the fresh project's own).
DROPPED_ENV = ("JOURNEY_DATABASE_URL", "JOURNEY_CONNECTOR")


@dataclass
class Side:
    """One row of the table and its measurements, in seconds per repetition."""

    key: str
    side: str
    mode: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)


def write_csv(path: Path, n: int) -> None:
    """A quarter over the revenue line, the rest split by country (two spellings of the US);
    one revenue in nine empty, which neither side may take for a number."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["Email", "First Name", "Last Name", "Company", "Country", "Annual Revenue"]
        )
        for i in range(n):
            revenue = "" if i % 9 == 4 else str(i * 7919 % 1_430_000)
            company = f"Co {i % 500}"
            writer.writerow(
                [f"c{i}@peer.example", f"Ann{i}", f"Lee{i}", company, COUNTRIES[i % 5], revenue]
            )


def spiff_python() -> Path:
    """The bench venv's interpreter, with SpiffWorkflow installed there once."""
    python = VENV / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('SpiffWorkflow'))"
    if python.exists():
        found = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
        if found.returncode == 0 and found.stdout.strip() == SPIFF.split("==")[1]:
            return python
        shutil.rmtree(VENV)
    print(f"making {VENV} with {SPIFF} (once) …", file=sys.stderr, flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=INSTALL_TIMEOUT_S)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", SPIFF],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    return python


def journey_command() -> list[str]:
    """The ``journey`` script a user types, of this interpreter's venv; else ``-m journey``."""
    script = Path(sys.executable).parent / "journey"
    return [str(script)] if script.exists() else [sys.executable, "-m", "journey"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one child process (its own and its waited-for children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} (in {cwd}) exited {done.returncode}\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


def run_spiff(
    python: Path, csv_path: Path, mode: str, folder: Path
) -> tuple[float, float, dict[str, Any]]:
    db = folder / f"spiff-{mode}.db"
    for stale in folder.glob(f"spiff-{mode}.db*"):
        stale.unlink()
    cmd = [str(python), str(PEER / "spiff_run.py"), str(csv_path), "--mode", mode, "--db", str(db)]
    wall, cpu, out = timed(cmd, folder)
    report: dict[str, Any] = _last_json(out)
    if mode != "memory":
        # Untimed: Spiff restores a sample of the rows, so they are state, not just bytes.
        check = [str(python), str(PEER / "spiff_run.py"), "--check", str(db)]
        report["restore_check"] = _last_json(timed(check, folder)[2])
    return wall, cpu, report


def dry_run_counts(report: dict[str, Any]) -> dict[str, Any]:
    """The dry run's report in Spiff's terms: completed contacts, actions and paths taken."""
    actions: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    completed = 0
    for contact in report["contacts"]:
        taken = [
            entry["detail"].split(" → ")[0]
            for entry in contact["path"]
            if entry["kind"] == "action" and entry["outcome"] == "done"
        ]
        actions.update(taken)
        paths[" | ".join(taken)] += 1
        completed += contact["status"] == "completed"
    return {"completed": completed, "actions": dict(actions), "paths": dict(paths)}


def new_project(folder: Path, name: str) -> Path:
    """A fresh project whose one journey is routing.journey; untimed, as a user's setup is."""
    project = folder / name
    if project.exists():
        shutil.rmtree(project)
    timed([*journey_command(), "init", str(project), "--json"], folder)
    for journey_file in (project / "journeys").glob("*.journey"):
        journey_file.unlink()
    shutil.copy(PEER / "routing.journey", project / "journeys" / "routing.journey")
    return project


def run_dry(csv_path: Path, project: Path) -> tuple[float, float, dict[str, Any]]:
    cmd = [
        *journey_command(),
        "dry-run",
        "journeys/routing.journey",
        "--contacts",
        str(csv_path),
        "--at",
        AT,
        "--json",
    ]
    wall, cpu, out = timed(cmd, project)
    report = json.loads(out)
    if report["errors"]:
        raise SystemExit(f"journey dry-run refused rows: {report['errors'][:3]}")
    return wall, cpu, dry_run_counts(report)


def run_durable(
    csv_path: Path, folder: Path
) -> tuple[dict[str, tuple[float, float]], dict[str, Any]]:
    project = new_project(folder, "durable")
    journey = journey_command()
    imported = timed(
        [*journey, "contacts", "import", str(csv_path), "--list", LIST, "--now", AT, "--json"],
        project,
    )
    report = json.loads(imported[2])
    if report["errors"]:
        raise SystemExit(f"journey contacts import refused rows: {report['errors'][:3]}")
    ran = timed([*journey, "run", "--until-idle", "--now", AT, "--json"], project)
    summary = json.loads(ran[2])
    if summary["failed"]:
        raise SystemExit(f"journey run: {summary['failed']} runs failed: {summary}")
    status = json.loads(timed([*journey, "status", "--json"], project)[2])
    (routing,) = status["journeys"]
    actions = {
        step["text"]: step["entered"]
        for step in routing["steps"]
        if step["text"].startswith(("update field", "add to list")) and step["entered"]
    }
    counts = {"completed": routing["runs"].get("completed", 0), "actions": actions}
    shutil.rmtree(project)
    return {"import": imported[:2], "run": ran[:2]}, counts


def check_same(spiff: dict[str, Any], other: dict[str, Any], label: str, n: int) -> None:
    """Stop loudly when a side did not route every contact as Spiff did."""
    problems = []
    for name, counts in (("Spiff", spiff), (label, other)):
        if counts["completed"] != n:
            problems.append(f"{name} completed {counts['completed']} of {n} contacts")
    for key in ("actions", "paths"):
        if key in other and other[key] != spiff[key]:
            problems.append(f"{key} differ:\n  Spiff: {spiff[key]}\n  {label}: {other[key]}")
    if problems:
        raise SystemExit(f"{label} and SpiffWorkflow disagree:\n" + "\n".join(problems))


Round = dict[str, tuple[float, float]]


def one_round(
    python: Path, csv_path: Path, n: int, folder: Path, project: Path, each_step: bool
) -> tuple[Round, dict[str, Any]]:
    """Every side once on one CSV: (wall, CPU) seconds per side, checked against Spiff's paths."""
    times: Round = {}
    wall, cpu, reference = run_spiff(python, csv_path, "memory", folder)
    check_same(reference, reference, "Spiff in memory", n)
    times["spiff_memory"] = (wall, cpu)
    modes = [("durable", "spiff_durable")] + ([("durable-step", "spiff_step")] if each_step else [])
    for mode, key in modes:
        wall, cpu, report = run_spiff(python, csv_path, mode, folder)
        check_same(reference, report, f"Spiff {mode}", n)
        saved = report["restore_check"]
        if report["writes"] < n or saved["rows"] != n or not saved["restored"]:
            raise SystemExit(f"Spiff {mode} did not keep its {n} instances: {report}")
        times[key] = (wall, cpu)
    wall, cpu, counts = run_dry(csv_path, project)
    check_same(reference, counts, "journey dry-run", n)
    times["journey_dry"] = (wall, cpu)
    parts, counts = run_durable(csv_path, folder)
    check_same(reference, counts, "journey import + run", n)
    times.update({f"journey_{part}": t for part, t in parts.items()})
    times["journey_durable"] = (
        sum(t[0] for t in parts.values()),
        sum(t[1] for t in parts.values()),
    )
    return times, reference


def measure(n: int, runs: int, each_step: bool) -> tuple[list[Side], Round, dict[str, Any]]:
    """The repetitions, after a warm-up round on a few contacts (its times: the fixed costs)."""
    python = spiff_python()
    sides = [
        Side("spiff_memory", "SpiffWorkflow", "in memory"),
        Side("spiff_durable", "SpiffWorkflow", "durable (SQLite, per instance)"),
        Side("journey_dry", "journey", "dry-run (memory)"),
        Side("journey_durable", "journey", "import + run (SQLite)"),
    ]
    if each_step:
        sides.insert(2, Side("spiff_step", "SpiffWorkflow", "durable (SQLite, per task)"))
    with tempfile.TemporaryDirectory(prefix="peer-bench-") as tmp:
        folder = Path(tmp)
        warm_csv, csv_path = folder / "warm.csv", folder / "contacts.csv"
        write_csv(warm_csv, WARM_CONTACTS)
        write_csv(csv_path, n)
        project = new_project(folder, "dry")
        # Bytecode and journey's parser tables are warm after it, as after a user's first
        # command; its times show what a process costs before its first contact.
        warm, _ = one_round(python, warm_csv, WARM_CONTACTS, folder, project, each_step)
        for _ in range(runs):
            times, reference = one_round(python, csv_path, n, folder, project, each_step)
            for side in sides:
                side.wall.append(times[side.key][0])
                side.cpu.append(times[side.key][1])
            for part in ("import", "run"):
                wall, cpu = times[f"journey_{part}"]
                sides[-1].parts.setdefault(f"{part}_wall_s", []).append(wall)
                sides[-1].parts.setdefault(f"{part}_cpu_s", []).append(cpu)
    return sides, warm, reference


def _rate(n: int, seconds: list[float]) -> dict[str, float]:
    rates = [n / s for s in seconds]
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}


def figures(n: int, sides: list[Side], warm: Round) -> dict[str, Any]:
    rows = {
        s.key: {
            "side": s.side,
            "mode": s.mode,
            "wall_contacts_per_s": _rate(n, s.wall),
            "cpu_contacts_per_s": _rate(n, s.cpu),
            # Without the fixed cost the warm-up round measured: the rate a long-lived
            # process would approach.
            "cpu_contacts_per_s_beyond_fixed": (n - WARM_CONTACTS)
            / max(statistics.median(s.cpu) - warm[s.key][1], 1e-9),
            "wall_s": s.wall,
            "cpu_s": s.cpu,
            "parts_s": s.parts,
        }
        for s in sides
    }
    ratios = []
    for fast, slow, goal in (
        ("journey_dry", "spiff_memory", 20),
        ("journey_durable", "spiff_durable", 10),
    ):
        ratios.append(
            {
                "journey": fast,
                "spiff": slow,
                "goal": goal,
                "wall": rows[fast]["wall_contacts_per_s"]["median"]
                / rows[slow]["wall_contacts_per_s"]["median"],
                "cpu": rows[fast]["cpu_contacts_per_s"]["median"]
                / rows[slow]["cpu_contacts_per_s"]["median"],
            }
        )
    fixed = {key: {"wall_s": wall, "cpu_s": cpu} for key, (wall, cpu) in warm.items()}
    return {"rows": rows, "ratios": ratios, "warm_up": {"contacts": WARM_CONTACTS, **fixed}}


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def print_table(result: dict[str, Any], reference: dict[str, Any]) -> None:
    def rate(r: dict[str, float]) -> str:
        return f"{r['median']:>9,.0f} ({r['min']:,.0f}–{r['max']:,.0f})"

    print(
        f"{'side':<14} {'mode':<32} {'contacts/s, wall':<28} {'contacts/CPU-s':<28}"
        " beyond fixed cost"
    )
    for row in result["rows"].values():
        print(
            f"{row['side']:<14} {row['mode']:<32} {rate(row['wall_contacts_per_s']):<28} "
            f"{rate(row['cpu_contacts_per_s']):<28} "
            f"{row['cpu_contacts_per_s_beyond_fixed']:>9,.0f}"
        )
    parts = result["rows"]["journey_durable"]["parts_s"]
    split = ", ".join(
        f"{part} {statistics.median(parts[f'{part}_wall_s']):.2f} s wall"
        f" / {statistics.median(parts[f'{part}_cpu_s']):.2f} s CPU"
        for part in ("import", "run")
    )
    print(f"{'':<14} import + run, medians: {split}")
    warm = result["warm_up"]
    labels = {
        "spiff_memory": "Spiff in memory",
        "spiff_durable": "Spiff durable",
        "spiff_step": "Spiff per task",
        "journey_dry": "dry-run",
        "journey_import": "import",
        "journey_run": "run",
    }
    fixed = ", ".join(
        f"{label} {warm[key]['cpu_s']:.2f}" for key, label in labels.items() if key in warm
    )
    print(f"\nfixed cost, CPU s per process on {warm['contacts']} contacts (warm-up): {fixed}")
    print()
    names = {"journey_dry": "dry run", "journey_durable": "import + run"}
    spiff = {"spiff_memory": "Spiff in memory", "spiff_durable": "Spiff durable"}
    for ratio in result["ratios"]:
        met = "met" if ratio["wall"] >= ratio["goal"] else "not met"
        print(
            f"{names[ratio['journey']]} ÷ {spiff[ratio['spiff']]}: {ratio['wall']:.1f}× wall, "
            f"{ratio['cpu']:.1f}× CPU (goal ≥ {ratio['goal']}×: {met})"
        )
    paths = ", ".join(
        f"{count:,} {path or '(none)'}" for path, count in sorted(reference["paths"].items())
    )
    print(f"\nsame paths on every side: {paths}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts in the CSV")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; figures are medians")
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, one run")
    parser.add_argument(
        "--spiff-each-step", action="store_true", help="also Spiff saving after every task"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    n, runs = (1_000, 1) if args.quick else (args.contacts, args.runs)
    if n <= WARM_CONTACTS or runs < 1:
        parser.error(f"--contacts must be over {WARM_CONTACTS} and --runs at least 1")
    load_before = _loadavg()
    sides, warm, reference = measure(n, runs, args.spiff_each_step)
    result = figures(n, sides, warm)
    conditions = {
        "contacts": n,
        "runs": runs,
        "spiff": SPIFF,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
    }
    if args.json:
        print(json.dumps({"conditions": conditions, **result, "paths": reference["paths"]}))
        return
    print(
        f"routing flow, {n:,} contacts, median of {runs} run(s); {SPIFF}, Python "
        f"{conditions['python']}, {conditions['cpus']} CPUs; load average "
        f"{load_before} before, {conditions['loadavg_after']} after\n"
    )
    print_table(result, reference)


if __name__ == "__main__":
    main()
