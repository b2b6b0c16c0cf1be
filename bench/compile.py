"""Benchmark: parse + check + compile a generated 1,000-step journey.

Run: ``python bench/compile.py [--steps N] [--repeat R]``. Prints the median and the
min–max over R repetitions (default 25) of ``dsl.compile_source`` on one journey with
N steps (default 1,000) mixing every kind of step: actions, if/else-if/else chains,
splits, waits, wait-untils, labels and a ``go to`` loop. The goal is under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

from journey.dsl import compile_source
from journey.dsl.parser import journey_parser


def generate(steps: int) -> str:
    """A valid journey with ``steps`` compiled steps (plus END), blocks of ~10 steps."""
    lines = [
        'journey "Benchmark"',
        "",
        'trigger form submitted "Demo request"',
        'trigger added to list "Website Leads"',
        "",
        "entry once every 30 days",
        'goal "Converted" when field "Lead Status" is "Closed - Converted"',
        "",
    ]
    made = 0
    block = 0
    while made < steps:
        block += 1
        lines += [
            f"step b{block}",
            f"wait {block % 5 + 1} days",
            f'if field "Annual Revenue" > {block * 1000} and in segment "High intent":',
            f'    assign lead to group "SDR Round Robin" lead status "Working {block}"',
            f'    add task "Call {{{{First Name}}}} #{block}" due in 2 days assigned to lead owner',
            'else if field "Rating" is "Hot" or not field "Email" is empty:',
            f'    update field "Description" to "Block {block}"',
            "else:",
            '    add to list "Nurture"',
            "split 50% / 50%:",
            "    path:",
            f'        create opportunity "{{{{Company}}}} {block}" stage "Prospecting"',
            "    path:",
            f'        wait until field "Lead Status" is "Qualified" for at most {block} hours',
            "",
        ]
        made += 10
    lines += [f"go to b{block}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()

    text = generate(args.steps)
    journey_parser()  # built once per process; not part of a compile
    compiled, diagnostics = compile_source(text, "bench.journey")
    errors = [d.format() for d in diagnostics if d.severity == "error"]
    if compiled is None or errors:
        raise SystemExit("the generated journey does not compile:\n" + "\n".join(errors))
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        compile_source(text, "bench.journey")
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"compile_source: {len(compiled.steps) - 1} steps, {text.count(chr(10))} lines, "
        f"{args.repeat} runs: median {statistics.median(timings):.1f} ms "
        f"(min {min(timings):.1f}, max {max(timings):.1f}); goal < 100 ms"
    )


if __name__ == "__main__":
    main()
