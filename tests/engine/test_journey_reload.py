"""A long-running engine reloads ``journeys/`` file by file: a bad file is reported with
its place and skipped (keeping its last good version), and the other journeys still
publish and run. Real project folders, a real SQLite store, the recorder."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from journey.engine.intake import submit_form
from journey.engine.journeys import JourneyLoadError, load_catalog
from journey.engine.project import Project, open_project
from journey.engine.status import contact_report
from tests.engine.engine_helpers import T0

GOOD = 'journey "Good"\ntrigger form submitted "Signup"\nupdate field "Rating" to "{}"\n'
OTHER = 'journey "Other"\ntrigger form submitted "Signup"\nupdate field "Industry" to "{}"\n'
DEEP = (
    'journey "Deep"\ntrigger form submitted "Signup"\n'
    + "".join(f'{"    " * level}if field "Rating" is empty:\n' for level in range(400))
    + f"{'    ' * 400}exit\n"
)


def _write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))  # a different mtime even on a coarse clock


def _open(tmp_path: Path) -> Project:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journey.toml").write_text("")
    _write(tmp_path / "journeys" / "good.journey", GOOD.format("Warm"), 1)
    _write(tmp_path / "journeys" / "other.journey", OTHER.format("Retail"), 1)
    return open_project(tmp_path, now=T0)


def _signup(project: Project, email: str, at: int) -> dict[str, str]:
    moment = T0 + timedelta(minutes=at)
    submit_form(project.store, project.context(moment), "Signup", email, {})
    project.runner().run_until_idle(moment)
    report = contact_report(project.store, email)
    assert report is not None
    return dict(report.fields)


def test_a_new_file_nested_too_deep_is_reported_and_the_rest_runs(tmp_path: Path) -> None:
    project = _open(tmp_path)
    bad = tmp_path / "journeys" / "deep.journey"
    _write(bad, DEEP, 2)
    _write(tmp_path / "journeys" / "good.journey", GOOD.format("Hot"), 2)

    assert project.reload_journeys(T0)

    [problem] = project.catalog.problems
    assert (problem.path, problem.line) == (str(bad), 2 + 50 + 2)
    assert "blocks nested 51 deep: the limit is 50" in problem.message
    assert project.catalog.kept == []
    assert sorted(project.catalog.current) == ["good", "other"]
    fields = _signup(project, "ann@acme.example", 1)
    assert (fields["Rating"], fields["Industry"]) == ("Hot", "Retail")  # the edit runs
    project.close()


def test_a_bad_edit_keeps_the_last_good_version_while_other_edits_publish(
    tmp_path: Path,
) -> None:
    project = _open(tmp_path)
    before = project.catalog.current["good"].version
    good = tmp_path / "journeys" / "good.journey"
    _write(good, GOOD.format("Hot") + "wait 2 fortnights\n", 2)
    _write(tmp_path / "journeys" / "other.journey", OTHER.format("Media"), 2)

    assert project.reload_journeys(T0)

    [problem] = project.catalog.problems
    assert (problem.path, problem.line) == (str(good), 4)
    assert project.catalog.kept == [str(good)]
    assert project.catalog.current["good"].version == before
    fields = _signup(project, "bob@acme.example", 1)
    assert (fields["Rating"], fields["Industry"]) == ("Warm", "Media")

    # Nothing changed since: no new look, the same report stands.
    assert not project.reload_journeys(T0)
    # Fixed: published, and nothing left to report.
    _write(good, GOOD.format("Hot"), 3)
    assert project.reload_journeys(T0)
    assert (project.catalog.problems, project.catalog.kept) == ([], [])
    assert _signup(project, "cy@acme.example", 2)["Rating"] == "Hot"
    project.close()


def test_files_that_cannot_be_read_are_problems_of_their_own(tmp_path: Path) -> None:
    project = _open(tmp_path)
    folder = tmp_path / "journeys"
    (folder / "binary.journey").write_bytes(b'journey "B"\n\xff\xfe\n')
    (folder / "folder.journey").mkdir()
    os.mkfifo(folder / "pipe.journey")  # reading it would wait for a writer forever
    _write(folder / "good.journey", GOOD.format("Hot"), 2)

    assert project.reload_journeys(T0)

    problems = {Path(p.path).name: (p.line, p.message) for p in project.catalog.problems}
    assert problems == {
        "binary.journey": (2, "not UTF-8 text: a journey file must be UTF-8"),
        "folder.journey": (1, "not a regular file"),
        "pipe.journey": (1, "not a regular file"),
    }
    assert _signup(project, "dee@acme.example", 1)["Rating"] == "Hot"
    project.close()


def test_strict_loading_still_refuses_every_problem_at_once(tmp_path: Path) -> None:
    project = _open(tmp_path)
    _write(tmp_path / "journeys" / "deep.journey", DEEP, 2)
    (tmp_path / "journeys" / "binary.journey").write_bytes(b"\xff")
    with pytest.raises(JourneyLoadError) as caught:
        load_catalog(project.config, None)
    assert "deep.journey:54:" in str(caught.value)
    assert "binary.journey:1:1:" in str(caught.value)
    project.close()
