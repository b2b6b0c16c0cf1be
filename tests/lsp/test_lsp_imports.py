"""Only ``journey lsp`` loads the editor server: every other command starts without
pygls (the CLI registers ``lsp`` but imports ``journey.lsp`` inside the command)."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_the_language_server() -> None:
    probe = (
        "import sys, journey.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol') "
        "or m.startswith('journey.lsp')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.strip() == "[]"
