"""``pip install`` into a fresh environment, then the first commands a new user types, in
an empty folder: nothing may depend on a checkout, and journey must not clash with
another distribution's top-level modules (a package with a ``cli`` module is common)."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from journey import __version__
from tests.packaging.support import pip

pytestmark = pytest.mark.slow

OTHER_CLI = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "another-tool"
version = "1.0"

[tool.setuptools]
py-modules = ["cli"]
"""


def run(command: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNEY_", "PYTHON"))}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def test_a_fresh_install_works_in_an_empty_folder(source: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    # No pip inside: the running pip installs into it (`--python`), which saves a copy.
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    other = tmp_path / "another-tool"
    other.mkdir()
    (other / "pyproject.toml").write_text(OTHER_CLI)
    (other / "cli.py").write_text('WHO = "another tool"\n')
    pip("--python", str(python), "install", "--quiet", str(other))
    pip("--python", str(python), "install", "--quiet", ".", cwd=source)  # as a user would

    empty = tmp_path / "empty"
    empty.mkdir()
    journey = str(env / "bin" / "journey")
    assert run([journey, "--version"], empty).strip() == f"journey {__version__}"
    imports = "import cli, journey.engine; print(cli.WHO); print(journey.__file__)"
    who, where = run([str(python), "-c", imports], empty).splitlines()
    assert who == "another tool"  # the other distribution's `cli` is untouched
    assert Path(where).is_relative_to(env)  # journey comes from the install, not a checkout

    run([journey, "init"], empty)
    assert "0 error(s), 0 warning(s)" in run([journey, "check", "journeys/"], empty)
    report = json.loads(run([journey, "demo", "--json", "--at", "2026-03-02T09:00"], empty))
    assert report["folder"] == ".journey/demo"
    assert report["imported"] == 14  # journeys/sample-contacts.csv's rows
    assert sum(s["failed"] for j in report["journeys"] for s in j["steps"]) == 0
