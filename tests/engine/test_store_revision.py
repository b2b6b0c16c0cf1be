"""Opening a store at the head revision asks the store, not Alembic: the head read from
the revision files' text is Alembic's head, a store one revision behind is still
upgraded, and revision files that do not form one plain line leave it to Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from journey.engine import migrations
from journey.engine.store import open_store
from journey.engine.store_revision import at_head, head_of_files


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_of_files() == migrations.head()


def test_a_store_behind_the_head_is_upgraded_when_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    engine = sa.create_engine(url)
    migrations.upgrade(engine, "0013_published_journeys")
    assert not at_head(engine)
    engine.dispose()
    store = open_store(url)
    assert at_head(store.engine)
    assert store.revision() == migrations.head()
    store.close()


def test_opening_a_store_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    open_store(url).close()
    code = (
        "import sys\nfrom journey.engine.store import open_store\n"
        f"open_store({url!r}).close()\nprint('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_revision_files_that_branch_or_read_oddly_give_no_head(tmp_path: Path) -> None:
    def folder(name: str, files: dict[str, str]) -> Path:
        where = tmp_path / name
        where.mkdir()
        for stem, text in files.items():
            (where / f"{stem}.py").write_text(text)
        return where

    a = 'revision = "a"\ndown_revision = None\n'
    b = 'revision = "b"\ndown_revision: str | None = "a"\n'
    assert head_of_files(folder("line", {"a": a, "b": b})) == "b"
    second_head = 'revision = "c"\ndown_revision = "a"\n'
    assert head_of_files(folder("branch", {"a": a, "b": b, "c": second_head})) is None
    merge = 'revision = "c"\ndown_revision = ("a", "b")\n'
    assert head_of_files(folder("merge", {"a": a, "b": b, "c": merge})) is None
