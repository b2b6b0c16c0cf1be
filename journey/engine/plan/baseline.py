"""What the working tree is compared with: the journeys published in the store, or the
journey files at a git revision.

Pipeline position: ``engine.plan.diff`` asks for a baseline; the store's is
``published_journeys`` (written by every publish) with each version's source from
``journey_versions``; a revision's is read with ``git`` itself (``git ls-tree`` and
``git show REV:path``, in a subprocess), so any revision git names works — a branch, a
tag, ``origin/main``, ``HEAD~1``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from journey.dsl import compile_source
from journey.engine.config import ProjectConfig
from journey.engine.journeys import journey_key
from journey.engine.store import JourneyVersion, PublishedJourney, Store

__all__ = ["BaseJourney", "PlanError", "git_baseline", "published_baseline"]


class PlanError(Exception):
    """The baseline cannot be read (not a git repository, an unknown revision)."""


@dataclass(frozen=True)
class BaseJourney:
    """A journey as the baseline has it."""

    name: str
    path: str
    source: str
    version: str


def published_baseline(store: Store) -> dict[str, BaseJourney]:
    """The journeys published in the store, by ``journey_key``."""
    pj, jv = PublishedJourney, JourneyVersion
    query = sa.select(pj.c.journey_key, pj.c.name, pj.c.path, pj.c.version, jv.c.source).join(
        jv, jv.c.version == pj.c.version
    )
    with store.engine.connect() as conn:
        return {
            r.journey_key: BaseJourney(r.name, r.path, r.source, r.version)
            for r in conn.execute(query)
        }


def _git(folder: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=False)
    except OSError as exc:
        raise PlanError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PlanError(said[-1] if said else f"git {args[0]} failed")
    return done.stdout


def git_baseline(config: ProjectConfig, rev: str) -> dict[str, BaseJourney]:
    """The journeys in the project's ``journeys/`` at git revision ``rev``, by
    ``journey_key``. A file that does not compile there is left out (it could not have
    been published)."""
    top = Path(_git(config.root, "rev-parse", "--show-toplevel").decode().strip())
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except PlanError:
        raise PlanError(f"git knows no revision {rev!r}") from None
    folder = (config.root / "journeys").resolve().relative_to(top.resolve()).as_posix()
    listed = _git(top, "ls-tree", "-r", "-z", "--name-only", rev, "--", f"{folder}/")
    found: dict[str, BaseJourney] = {}
    for name in sorted(n for n in listed.decode().split("\0") if n.endswith(".journey")):
        raw = _git(top, "show", f"{rev}:{name}")
        source = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        path = str(top / name)
        journey = compile_source(source, path, None)[0]
        if journey is not None:
            found[journey_key(journey.name)] = BaseJourney(
                journey.name, path, source, journey.version
            )
    return found
