"""Projects written from trees shipped as package data: the new project ``journey init``
writes, and the copy of the example project ``journey demo`` runs.

Pipeline position: CLI (``init``, ``demo``) -> **scaffold** -> files on disk. It writes a
project and reads none. The trees are read through ``importlib.resources`` so a wheel
carries them; the new project's tree is ``journey/engine/new_project/``, laid out as the
project it becomes. setuptools' package-data globs never match dotfiles, so a template
named ``gitignore`` is written as ``.gitignore``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

__all__ = ["NEW_PROJECT", "ScaffoldError", "copy_project", "project_files", "scaffold"]

#: The package folder holding the tree ``journey init`` writes.
NEW_PROJECT = "new_project"
#: Template names written under another name (package data cannot hold dotfiles).
_RENAMED = {"gitignore": ".gitignore"}
#: Files a folder often has already, shared with other tools: the template's missing lines
#: are added to them instead of replacing them (a fresh git repository has a .gitignore).
_MERGED = {PurePosixPath(".gitignore")}


class ScaffoldError(Exception):
    """Writing the project would replace files that are already there; ``existing``
    names them, relative to the target folder."""

    def __init__(self, target: Path, existing: list[PurePosixPath]) -> None:
        self.target = target
        self.existing = existing
        names = ", ".join(str(target / p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        super().__init__(f"{names} already {verb}: not written over")


def _is_data(name: str) -> bool:
    # The trees are also Python packages (or sit in one): their modules, caches and any
    # local state (.journey/ after a demo run in a checkout) are not the project.
    return not name.startswith(("_", ".")) and not name.endswith((".py", ".pyc"))


def project_files(source: Traversable) -> list[tuple[PurePosixPath, Traversable]]:
    """Every file of the tree with its path in the written project, in path order."""
    found: list[tuple[PurePosixPath, Traversable]] = []

    def walk(folder: Traversable, prefix: PurePosixPath) -> None:
        for entry in folder.iterdir():
            if not _is_data(entry.name):
                continue
            if entry.is_dir():
                walk(entry, prefix / entry.name)
            elif entry.is_file():
                found.append((prefix / _RENAMED.get(entry.name, entry.name), entry))

    walk(source, PurePosixPath())
    return sorted(found, key=lambda item: item[0])


def copy_project(source: Traversable, target: Path, *, force: bool = False) -> list[PurePosixPath]:
    """Write the tree's files under ``target`` (made if missing) and return their paths.
    Refuses with ``ScaffoldError`` before writing anything if one of them exists, unless
    ``force``: a half-written project would be worse than none. An existing
    ``.gitignore`` is never refused nor replaced: it gains the lines it lacks."""
    planned = project_files(source)
    existing = [p for p, _ in planned if (target / p).exists() and p not in _MERGED]
    if existing and not force:
        raise ScaffoldError(target, existing)
    for path, entry in planned:
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path in _MERGED and destination.is_file():
            _merge_lines(destination, entry.read_text(encoding="utf-8"))
        else:
            destination.write_bytes(entry.read_bytes())
    return [path for path, _ in planned]


def _merge_lines(destination: Path, template: str) -> None:
    text = destination.read_text(encoding="utf-8")
    have = {line.strip() for line in text.splitlines()}
    missing = [line for line in template.splitlines() if line.strip() not in have]
    if missing:
        glue = "" if not text or text.endswith("\n") else "\n"
        destination.write_text(text + glue + "\n".join(missing) + "\n", encoding="utf-8")


def scaffold(target: Path, *, force: bool = False) -> list[PurePosixPath]:
    """A new project in ``target``: a commented ``journey.toml`` on the embedded emulated
    org, one commented journey that passes ``journey check``, the org's seed and a
    ``.gitignore`` for ``.journey/``. See ``copy_project`` for ``force``."""
    return copy_project(files("journey.engine") / NEW_PROJECT, target, force=force)
