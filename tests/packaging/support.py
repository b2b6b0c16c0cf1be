"""What the packaging tests share: where the source is, and pip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What is not the source: local environments, caches, build output, engine state.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", ".journey"
)


def pip(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """pip of the interpreter running the tests; a failure shows pip's own words."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done
