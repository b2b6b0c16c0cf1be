"""The floor under the dry run: bench/engine.py's 10 steps as plain Python dict work.

    .venv/bin/python bench/floor.py            # contact-steps/s, median of 5
    .venv/bin/python bench/floor.py --quick    # one repetition

Each contact is a dict of fields and a set of lists; each of the journey's 10 steps is one
function call doing what the step does at least (a dict read or write, a comparison, a
hash for the split, a list append for the connector batch), with no engine around it. No
real engine can be faster than this in CPython; ``bench/engine.py`` prints the figure next
to the dry run's, so the gap between them is the engine's own cost per step.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable

STEPS_PER_CONTACT = 10
Contact = tuple[dict[str, str], set[str]]


def _set(name: str, value: str) -> Callable[[Contact], None]:
    def step(c: Contact) -> None:
        c[0][name] = value

    return step


def _score(c: Contact) -> None:
    fields, lists = c
    if float(fields.get("score", "0")) > 50:
        lists.add("high")
    else:
        fields["stage"] = "low"


def _split(c: Contact) -> None:
    digest = hashlib.sha256(("Bench\0" + "3\0" + c[0]["email"]).encode()).digest()
    c[0]["plan tier"] = "A" if int.from_bytes(digest[:8], "big") % 100 < 50 else "B"


def _wait(c: Contact) -> None:
    c[0]["\0due"] = "2026-03-03T09:00:00+00:00"


BATCH: list[Contact] = []


def _hot(c: Contact) -> None:
    fields, lists = c
    if fields.get("rating", "").casefold() == "hot" or "high" in lists:
        BATCH.append(c)  # the connector's batch
    else:
        lists.add("cold")


def _remove(c: Contact) -> None:
    c[1].discard("bench")


STEPS: list[Callable[[Contact], None]] = [
    _set("stage", "started"),
    _score,
    _split,
    _wait,
    _hot,
    _set("stage", "done"),
    _remove,
    _set("\0seq", "7"),
    _set("\0status", "completed"),
    _set("\0step", "end"),
]
assert len(STEPS) == STEPS_PER_CONTACT


def floor(n: int) -> float:
    """Contact-steps per CPU second over ``n`` contacts."""
    contacts = [
        (
            {
                "email": f"c{i}@bench.example",
                "first name": f"C{i}",
                "score": str(i % 100),
                "rating": "Hot" if i % 7 == 0 else "Warm",
            },
            {"bench"},
        )
        for i in range(n)
    ]
    BATCH.clear()
    start = time.process_time()
    for c in contacts:
        for step in STEPS:
            step(c)
    return n * STEPS_PER_CONTACT / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("-n", type=int, default=10_000, help="contacts (default 10,000)")
    args = parser.parse_args()
    rates = [floor(args.n) for _ in range(1 if args.quick else 5)]
    print(f"floor (plain dict work, {STEPS_PER_CONTACT} steps): ", end="")
    print(f"{statistics.median(rates):,.0f} contact-steps/s at {args.n:,} contacts")


if __name__ == "__main__":
    main()
