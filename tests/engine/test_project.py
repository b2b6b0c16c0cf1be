"""Opening a project: journey.toml segments, published journeys, edits while running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from journey.engine.config import ConfigError
from journey.engine.project import open_project
from tests.engine.engine_helpers import T0

SOURCE = 'journey "J"\ntrigger form submitted "F"\nupdate field "Rating" to "Warm"\n'


def _project(tmp_path: Path, toml: str = "") -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "j.journey").write_text(SOURCE)
    (tmp_path / "journey.toml").write_text(toml)
    return tmp_path


def test_a_bad_segment_names_itself(tmp_path: Path) -> None:
    _project(tmp_path, '[segments]\n"Hot" = \'field "Rating" is\'\n')
    with pytest.raises(ConfigError, match='\\[segments\\] "Hot"'):
        open_project(tmp_path)


def test_edits_are_published_and_bad_edits_are_not(tmp_path: Path) -> None:
    path = _project(tmp_path) / "journeys" / "j.journey"
    project = open_project(tmp_path, now=T0)
    first = project.catalog.current["j"].version
    assert not project.reload_journeys(T0)
    path.write_text(SOURCE.replace("Warm", "Hot"))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert project.reload_journeys(T0)
    second = project.catalog.current["j"].version
    assert second != first
    assert project.catalog.get(first).name == "J"  # the old version is still runnable
    path.write_text('journey "J"\nwait 2 fortnights\n')
    assert project.reload_journeys(T0)  # a bad edit is reported, not raised
    assert [f"{p.path}:{p.line}" for p in project.catalog.problems] == [f"{path}:2"]
    assert project.catalog.current["j"].version == second
    project.close()
