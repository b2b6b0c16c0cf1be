"""The emulated org's SOQL parser keeps its tables between processes, as the journey
parser does (``journey.lark_cache``): every command that reads the org parses SOQL, and
building the LALR tables took longer than the rest of a small dry run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Parses one query in a fresh process and prints what the parser made of it.
PARSE = """
from journey.emulator.soql import parse_query
print(repr(parse_query("SELECT Id, Email FROM Lead WHERE Email IN ('a@x.example') LIMIT 5")))
"""


def parse_in_a_process(cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PARSE],
        env={**os.environ, "JOURNEY_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_soql_tables_are_kept_and_a_torn_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = parse_in_a_process(cache)
    assert (first.returncode, first.stderr) == (0, "")
    (kept,) = cache.glob("soql-grammar-*.lark-cache")
    kept.write_bytes(kept.read_bytes()[:100])  # as if a process died writing it
    second = parse_in_a_process(cache)
    assert (second.returncode, second.stdout, second.stderr) == (0, first.stdout, "")
    assert kept.stat().st_size > 100  # written again, whole
    assert "Lead" in first.stdout
