"""Start-up benchmark: the whole ``journey`` process, from exec to exit.

    .venv/bin/python bench/startup.py              # 10 runs of each command
    .venv/bin/python bench/startup.py --runs 30    # more runs, steadier medians
    .venv/bin/python bench/startup.py --json       # the figures for a program
    .venv/bin/python bench/startup.py --quick      # 3 runs each, for a first look
    .venv/bin/python bench/startup.py --instructions  # plus each command's instruction
                                                      # count under valgrind (slow)

Three commands on a copy of the example project (journey/example), each as a fresh
process, the way a shell, an editor or a CI step starts it: ``journey --version`` (the
fixed cost every command pays), ``journey check journeys`` (the goal: under 300 ms) and
``journey fmt --check journeys``. A bare ``python -c pass`` and ``python -c "import journey"``
are measured beside them: what no command can go below on this machine. Figures: median and
min over the runs, in ms; one warm-up run of each first, so the disk cache and lark's parser
cache are warm, as they are for anyone who ran journey before. The package's bytecode is
compiled first (``compileall``), as ``pip install`` does for an installed package: with
``PYTHONDONTWRITEBYTECODE`` set (as on this machine) an editable checkout would otherwise
compile every module from source in every process, about 120 ms no user pays.

Wall times on a shared machine move with its load; ``--instructions`` adds what does not:
the instructions each process executes (valgrind's callgrind, counted once per command, in
millions), the figure to compare two versions by. The load average is printed with the
figures.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
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
    "python -c 'import journey'": [sys.executable, "-c", "import journey"],
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


_COLLECTED = re.compile(r"Collected : (\d+)")


def _instructions(argv: list[str], cwd: Path) -> float | None:
    """Millions of instructions the process executes (callgrind); ``None`` without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    found = _COLLECTED.search(done.stderr)
    return int(found[1]) / 1e6 if done.returncode == 0 and found else None


def measure(runs: int, instructions: bool = False) -> dict[str, dict[str, float]]:
    compileall.compile_dir(EXAMPLE.parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "example"
        shutil.copytree(EXAMPLE, project)
        figures: dict[str, dict[str, float]] = {}
        for name, argv in COMMANDS.items():
            _once(argv, project)  # warm-up
            times = [_once(argv, project) for _ in range(runs)]
            figures[name] = {"median_ms": statistics.median(times), "min_ms": min(times)}
            counted = _instructions(argv, project) if instructions else None
            if counted is not None:
                figures[name]["instructions_M"] = counted
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (10)")
    parser.add_argument("--quick", action="store_true", help="3 runs of each command")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind; slow)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    load = os.getloadavg()[0]
    figures = measure(runs, args.instructions)
    if args.json:
        print(json.dumps({"runs": runs, "load_average": load, "commands": figures}, indent=2))
        return
    print(f"whole processes, {runs} runs each (ms); load average {load:.2f} at the start")
    for name, figure in figures.items():
        line = f"  {name:<28} median {figure['median_ms']:7.1f}   min {figure['min_ms']:7.1f}"
        if "instructions_M" in figure:
            line += f"   {figure['instructions_M']:7.0f} M instructions"
        print(line)


if __name__ == "__main__":
    main()
