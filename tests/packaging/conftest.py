"""The wheel, built once per session from a copy of the source tree.

A copy, because setuptools builds in place: its ``build/`` folder outlives a file's
removal and would put the removed file back into the next wheel.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.packaging.support import NOT_SOURCE, REPO, pip


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the source tree, as a fresh clone would hold it."""
    copy = tmp_path_factory.mktemp("source") / "journey"
    shutil.copytree(REPO, copy, ignore=NOT_SOURCE)
    return copy


@pytest.fixture(scope="session")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source))
    [built] = out.glob("*.whl")
    return built
