"""What ``pip install`` gets: one top-level package, ``journey``, carrying every file of
the source tree's ``journey/`` (the grammar, the example project, the new project's
tree), so the installed command works outside a checkout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from journey import __version__
from tests.packaging.support import REPO

pytestmark = pytest.mark.slow


def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    top = {name.split("/")[0] for name in names(wheel)}
    assert top == {"journey", f"journey_engine-{__version__}.dist-info"}


def test_the_wheel_carries_every_file_of_the_package(wheel: Path) -> None:
    in_wheel = set(names(wheel))
    files = (p.relative_to(REPO) for p in (REPO / "journey").rglob("*") if p.is_file())
    source = {
        path.as_posix()
        for path in files
        # neither caches nor a demo's state (.journey/) left in a checkout
        if path.suffix != ".pyc" and not any(p.startswith((".", "__")) for p in path.parts[:-1])
    }
    assert "journey/example/journeys/sample-contacts.csv" in source
    assert "journey/engine/new_project/gitignore" in source
    assert source - in_wheel == set()
