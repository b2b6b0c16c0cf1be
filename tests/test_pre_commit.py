"""``.pre-commit-hooks.yaml`` as a team uses it: a repository whose ``.pre-commit-config.yaml``
names this repository (its committed ``HEAD``) as the hook repository, and ``git commit``.

pre-commit clones this repository from its path and installs it in a virtualenv of its own
(pip, from the local cache when the dependencies are there), so the hooks tested are the
ones a user gets. What the work tree holds uncommitted is not in the clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]

BAD = 'journey "Bad"\ntrigger added to list "A"\nwait 2 dayz\n'
LOOSE = 'journey "Loose"\n\ntrigger added to list "A"\n\nif field "Email" is empty:\n      exit\n'
TIDY = 'journey "Loose"\n\ntrigger added to list "A"\n\nif field "Email" is empty:\n    exit\n'


def _head() -> str:
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        pytest.skip("this checkout is not a git repository")
    return found.stdout.strip()


class Repo:
    """A git repository using the hooks, and the environment its commands run in."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,  # an upper bound against a hang, not a timing
        )

    def commit(self, name: str, text: str) -> subprocess.CompletedProcess[str]:
        (self.root / name).write_text(text, encoding="utf-8")
        self.run("git", "add", name)
        return self.run("git", "commit", "-m", f"add {name}")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    base = tmp_path_factory.mktemp("pre-commit")
    root = base / "team-journeys"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(base / "cache"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    made = Repo(root, env)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO}\n    rev: {_head()}\n    hooks:\n"
        "      - id: journey-check\n      - id: journey-fmt\n",
        encoding="utf-8",
    )
    assert made.run("git", "init", "-q", ".").returncode == 0
    installed = made.run(sys.executable, "-m", "pre_commit", "install", "--install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    made.run("git", "add", ".pre-commit-config.yaml")
    assert made.run("git", "commit", "-m", "hooks").returncode == 0
    return made


def test_a_journey_that_does_not_check_stops_the_commit(repo: Repo) -> None:
    done = repo.commit("bad.journey", BAD)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "journey check" in output
    assert "Failed" in output
    assert "bad.journey:3:8: error: unexpected `dayz`" in output
    assert "bad.journey" not in repo.run("git", "ls-tree", "--name-only", "HEAD").stdout
    repo.run("git", "rm", "-q", "--cached", "bad.journey")
    (repo.root / "bad.journey").unlink()


def test_a_loosely_laid_out_journey_is_reformatted_and_the_commit_stopped(repo: Repo) -> None:
    done = repo.commit("loose.journey", LOOSE)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "files were modified by this hook" in output
    assert "reformatted loose.journey" in output
    assert (repo.root / "loose.journey").read_text(encoding="utf-8") == TIDY
    again = repo.commit("loose.journey", TIDY)  # the fixed file, staged, commits
    assert again.returncode == 0, again.stdout + again.stderr
    assert "loose.journey" in repo.run("git", "ls-tree", "--name-only", "HEAD").stdout
