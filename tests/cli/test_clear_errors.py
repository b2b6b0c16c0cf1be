"""What a user gets instead of a traceback when the project cannot be opened: one clear
message and exit 2 — a ``.journey`` that is a file or cannot be written, a ``[store] url``
that names an unreachable server or a database journey does not speak, a ``journey.toml``
that is not UTF-8, a seed that is not a seed — and with ``--json``, for every command, one
error object of the same shape on stdout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from journey.cli.errors import CODES
from journey.cli.main import app
from tests.cli.actions_support import NOW
from tests.existing_org import existing_seed


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "welcome.journey").write_text(
        'journey "Welcome"\n\ntrigger form submitted "Hello"\n\nupdate field "Rating" to "Warm"\n'
    )
    (tmp_path / "salesforce-seed.json").write_text(json.dumps(existing_seed()))
    (tmp_path / "journey.toml").write_text('[salesforce]\nseed = "salesforce-seed.json"\n')
    (tmp_path / "people.csv").write_text("Email\nada@initech.example\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOURNEY_DEBUG", raising=False)
    return tmp_path


def error_of(*args: str, code: int = 2) -> dict[str, Any]:
    """``journey ARGS --json``'s one error object; the same command in words says the same
    on stderr in one ``error:`` line (and a hint), never a traceback."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == code, (result.output, result.exception)
    shown = json.loads(result.stdout)
    assert list(shown) == ["error"]
    error: dict[str, Any] = shown["error"]
    assert list(error) == ["code", "message", "where", "hint"]
    assert CODES[error["code"]] == code
    words = CliRunner().invoke(app, list(args))
    assert words.exit_code == code
    head = f"{error['where']}: {error['message']}" if error["where"] else error["message"]
    assert words.stderr.startswith(f"error: {head}\n")
    assert "Traceback" not in words.output
    assert len(words.stderr.splitlines()) <= 2
    return error


COMMANDS = (
    ("run", "--now", NOW),
    ("contacts", "import", "people.csv"),
    ("sync", "--once"),
)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_journey_folder_that_is_a_file_is_named(project: Path, args: tuple[str, ...]) -> None:
    (project / ".journey").write_text("")
    error = error_of(*args)
    assert str(project / ".journey") in f"{error['where']} {error['message']}"
    assert "is a file" in error["message"]
    assert "move" in error["hint"]


@pytest.fixture
def unwritable(project: Path) -> Iterator[Path]:
    """``.journey`` that this user cannot write in: read-only for a user, immutable for
    root (whom file modes do not stop)."""
    folder = project / ".journey"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("running as root where chattr +i is not allowed: no folder is unwritable")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_an_unwritable_journey_folder_says_so(unwritable: Path, args: tuple[str, ...]) -> None:
    error = error_of(*args)
    assert str(unwritable) in f"{error['where']} {error['message']} {error['hint']}"
    assert "writable" in error["hint"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("args", COMMANDS[:2], ids=lambda a: " ".join(a[:2]))
def test_an_unreachable_store_is_one_message_without_its_password(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    url = f"postgresql+psycopg://journey:s3cret@127.0.0.1:{_free_port()}/journey"
    monkeypatch.setenv("JOURNEY_DATABASE_URL", url)
    error = error_of(*args)
    assert error["code"] == "store"
    assert error["message"].startswith("cannot reach the store's database postgresql+psycopg://")
    assert "journey:***@127.0.0.1" in error["message"]
    assert "s3cret" not in json.dumps(error)
    assert "JOURNEY_DATABASE_URL" in error["hint"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "oracle://scott:tiger@db/orcl",
            'journey keeps its state in SQLite or PostgreSQL, not "oracle"',
        ),
        (
            "postgresql+psycopg2://journey@db/journey",
            '"postgresql+psycopg2" (psycopg2) is not installed',
        ),
        ("journey at the db server", "is not a database URL"),
    ],
)
def test_a_store_url_journey_cannot_use_is_one_message(project: Path, url: str, says: str) -> None:
    (project / "journey.toml").write_text(
        f'[salesforce]\nseed = "salesforce-seed.json"\n\n[store]\nurl = "{url}"\n'
    )
    error = error_of("contacts", "import", "people.csv")
    assert error["code"] == "store"
    assert says in error["message"]
    assert "tiger" not in json.dumps(error)
    assert "postgresql+psycopg://" in error["hint"]


def test_a_journey_toml_that_is_not_utf8_names_its_line(project: Path) -> None:
    (project / "journey.toml").write_bytes(
        b'[salesforce]\nseed = "salesforce-seed.json"\n# Caf\xe9 owners\n'
    )
    for args in COMMANDS:
        error = error_of(*args)
        assert error["code"] == "config"
        assert error["where"] == f"{project / 'journey.toml'}:3:6"
        assert error["message"] == "not UTF-8 text (byte 0xE9): save journey.toml as UTF-8"


def test_a_seed_that_is_not_a_seed_is_one_message(project: Path) -> None:
    (project / "salesforce-seed.json").write_text('{"Lead": [{"LastName": "Broken"}')
    for args in (("run", "--now", NOW), ("sync", "--once")):
        error = error_of(*args)
        assert error["code"] == "config"
        assert "seed" in error["message"]
        assert "docs/emulator.md" in error["hint"]


@pytest.mark.parametrize(
    ("seed", "says"),
    [
        ("binary", "UTF-8"),
        ("/dev/zero", "not a regular file"),
        (".", "is a folder, not a seed file"),
    ],
)
def test_a_binary_or_special_seed_file_is_one_message_not_a_hang(
    project: Path, seed: str, says: str
) -> None:
    """A seed that is binary, a device that never ends, or a folder: one message naming the
    file, exit 2 — never a hang or a traceback."""
    if seed == "binary":
        (project / "binary").write_bytes(bytes(range(256)) * 64)
    (project / "journey.toml").write_text(f'[salesforce]\nseed = "{seed}"\n')
    for args in (("run", "--now", NOW), ("sync", "--once")):
        error = error_of(*args)
        assert error["code"] == "config"
        assert says in error["message"], error
        assert seed.strip("/.") in error["message"] or seed == "."


# --- --json: the same error object from every command ----------------------------------


def _leaf_commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[Any]:
        subs = getattr(command, "commands", None)
        if path and (not subs or getattr(command, "invoke_without_command", False)):
            yield path, command
        for name, sub in (subs or {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(get_command(app), ())


_ARGUMENTS = {
    "PATH...": "journeys",
    "EMAIL": "ada@initech.example",
    "CSV": "people.csv",
    "FILE": "journeys/welcome.journey",
}

#: Commands that never read journey.toml, and the error each is forced into instead.
_OWN_ERRORS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("demo",): ("--at", "next tuesday"),
    ("init",): (),  # journey.toml is there already
    ("fmt",): ("--no-such-option",),
    ("lsp",): ("--no-such-option",),  # it reads a project per document, not at start
    ("salesforce", "emulator"): ("--state", "people.csv", "--port", "0"),
}


def _arguments(command: Any) -> list[str]:
    args: list[str] = []
    for param in command.params:
        if param.required and param.param_type_name == "argument":
            args.append(_ARGUMENTS.get(param.metavar or "", "x"))
        elif param.required:
            args += [param.opts[0], _ARGUMENTS.get(param.metavar or "", "x")]
    return args


def test_every_command_gives_one_json_error_object(project: Path) -> None:
    """Each command with ``--json`` and a forced error: a ``journey.toml`` that is not
    UTF-8, or for the few that never read it, an error of their own."""
    (project / "journey.toml").write_bytes(b"# Caf\xe9\n")
    seen = set()
    for path, command in _leaf_commands():
        seen.add(path)
        forced = _OWN_ERRORS.get(path)
        args = [*path, *(_arguments(command) if forced is None else forced), "--json"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        shown = json.loads(result.stdout)
        assert list(shown) == ["error"], args
        error = shown["error"]
        assert list(error) == ["code", "message", "where", "hint"], args
        assert isinstance(error["message"], str)
        assert error["message"], args
        if forced is None:
            assert error["code"] == "config", (args, error)
        assert result.stderr == "", args
    assert {*_OWN_ERRORS, ("run",), ("worker",), ("contacts", "import"), ("sync",)} <= seen
