"""Start-up benchmark: the whole ``journey`` process, from exec to exit.

    .venv/bin/python bench/startup.py              # 10 runs of each command
    .venv/bin/python bench/startup.py --runs 30    # more runs, steadier medians
    .venv/bin/python bench/startup.py --json       # the figures for a program

Three commands on a copy of the example project (journey/example), each as a fresh
process, the way a shell, an editor or a CI step starts it: ``journey --version`` (the
fixed cost every command pays), ``journey check journeys`` (the goal: under 300 ms) and
``journey fmt --check journeys``. A bare ``python -c pass`` is measured beside them: what no
command can go below on this machine. Figures: median and min over the runs, in ms; one
warm-up run of each first, so the disk cache and lark's parser cache are warm, as they are
for anyone who ran journey before.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "journey" / "example"
JOURNEY = [sys.executable, "-m", "journey"]

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "journey --version": [*JOURNEY, "--version"],
    "journey check": [*JOURNEY, "check", "journeys"],
    "journey fmt --check": [*JOURNEY, "fmt", "--check", "journeys"],
}


def _once(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed * 1000


def measure(runs: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "example"
        shutil.copytree(EXAMPLE, project)
        figures: dict[str, dict[str, float]] = {}
        for name, argv in COMMANDS.items():
            _once(argv, project)  # warm-up
            times = [_once(argv, project) for _ in range(runs)]
            figures[name] = {"median_ms": statistics.median(times), "min_ms": min(times)}
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (10)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    figures = measure(args.runs)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"whole processes, {args.runs} runs each (ms)")
    for name, figure in figures.items():
        print(f"  {name:<22} median {figure['median_ms']:7.1f}   min {figure['min_ms']:7.1f}")


if __name__ == "__main__":
    main()
