"""The wheel, built once per session from a copy of the source tree.

A copy, because setuptools builds in place: its ``build/`` folder outlives a file's
removal and would put the removed file back into the next wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: What is not the source: local environments, caches, build output, engine state.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", ".journey"
)


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    """pip of the interpreter running the tests; a failure shows pip's own words."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "journey"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source))
    [built] = out.glob("*.whl")
    return built
