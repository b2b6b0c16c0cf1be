"""The ``journey`` command as a whole: its help (plain metavars, panels, an example for every
command), ``--version``, and the commands that only look, which leave a fresh folder as it
was."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.main import get_command
from typer.testing import CliRunner

from journey import __version__
from journey.cli.app import PANELS
from journey.cli.main import app

JOURNEY = 'journey "Welcome"\n\ntrigger form submitted "Hello"\n\nupdate field "Rating" to "Warm"\n'


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command and group under ``journey``, as the words that name it."""

    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(get_command(app), ())


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


def test_the_help_groups_the_commands(wide: None, snapshot: SnapshotAssertion) -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert out == snapshot


def test_every_top_level_command_has_a_panel() -> None:
    grouped = {name for names in PANELS.values() for name in names}
    commands = {path[0] for path in command_paths() if len(path) == 1}
    assert commands - grouped == set()


@pytest.mark.parametrize("path", list(command_paths()), ids=" ".join)
def test_help_has_plain_metavars_and_an_example(wide: None, path: tuple[str, ...]) -> None:
    code, out, _ = invoke(*path, "--help")
    assert code == 0
    for leak in ("<bool>", "<str>", "<path>", "<int>", "<float>", "list[", "{"):
        assert leak not in out, (path, leak)
    assert "Example: journey" in out


def test_contact_help_names_its_argument(wide: None) -> None:
    out = invoke("contacts", "import", "--help")[1]
    assert "Usage: journey contacts import [OPTIONS] CSV" in out
    assert "--list" in out
    assert "LIST" in out
    assert "ISO-TIME" in out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    assert invoke(flag) == (0, f"journey {__version__}\n", "")


# --- Commands that only look never create state ---------------------------------------


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a journey and a CSV, and no ``journey.toml``: a first look around."""
    (tmp_path / "welcome.journey").write_text(JOURNEY)
    (tmp_path / "people.csv").write_text("Email,First Name\nada@initech.example,Ada\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    return tmp_path


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("status",), 0),
        (("status", "--json"), 0),
        (("status", "Welcome"), 2),
        (("contact", "ada@initech.example"), 2),
        (("sync", "errors"), 0),
        (("sync", "errors", "--json"), 0),
        (("salesforce", "status"), 0),
        (("salesforce", "status", "--json"), 0),
        (("check", "welcome.journey"), 0),
        (("fmt", "--check", "welcome.journey"), 0),
        (("graph", "welcome.journey"), 0),
        (("dry-run", "welcome.journey", "--contacts", "people.csv"), 0),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else str(value),
)
def test_looking_leaves_a_fresh_folder_as_it_was(
    fresh: Path, args: tuple[str, ...], code: int
) -> None:
    before = listing(fresh)
    result = invoke(*args)
    assert result[0] == code, result
    assert listing(fresh) == before
    assert not (fresh / ".journey").exists()


def test_status_in_a_fresh_folder_says_there_is_no_store(fresh: Path) -> None:
    code, out, _ = invoke("status")
    assert (code, out) == (
        0,
        "no store yet: run `journey contacts import` or `journey run` first\n",
    )


def test_contact_in_a_fresh_folder_says_how_to_make_one(fresh: Path) -> None:
    code, _, err = invoke("contact", "ada@initech.example")
    assert code == 2
    assert err == (
        "error: no contact has the email 'ada@initech.example'\n"
        "hint: no store yet: run `journey contacts import` or `journey run` first\n"
    )


def test_once_a_store_exists_status_reads_it(fresh: Path) -> None:
    assert invoke("contacts", "import", "people.csv")[0] == 0
    assert (fresh / ".journey" / "state.db").is_file()
    code, out, _ = invoke("contact", "ada@initech.example")
    assert code == 0
    assert "ada@initech.example" in out
    assert os.path.getsize(fresh / ".journey" / "state.db") > 0


@pytest.mark.parametrize(
    "name", ["app", "errors", "help", "connection", "dryrun", "language", "org", "runs", "sync"]
)
def test_each_module_says_where_it_sits_and_exports_what_it_defines(name: str) -> None:
    module = importlib.import_module(f"journey.cli.{name}")
    assert "Pipeline position" in (module.__doc__ or "")
    exported = list(module.__all__)
    assert len(exported) == len(set(exported))
    assert [n for n in exported if not hasattr(module, n) or n.startswith("_")] == []
