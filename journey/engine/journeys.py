"""Published journeys and their versions: what runs may enter, and what running runs walk.

Pipeline position: ``journeys/*.journey`` -> dsl (compile) -> **catalog** -> triggers,
runner. Published means "a file in the project's ``journeys/`` folder": new runs enter the
current version of each. Every version a run entered with is kept in the store
(``journey_versions``, the source text under its version: the hash of the source and the
compiler's step-id scheme) so that a run stays on its version when the file changes: an old
version is recompiled from its stored source on demand, and keeps its key. Which version
of each journey is published now is kept too (``published_journeys``), for ``journey plan``
to compare the working tree with; publishing never moves a run (``engine.plan``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from journey.dsl import CompiledJourney, Diagnostic, Schema, compile_source
from journey.dsl.pipeline import read_source
from journey.dsl.syntax import (
    AddedToList,
    CampaignMemberStatusChanged,
    EnteredSegment,
    FieldChanged,
    FormSubmitted,
    Trigger,
)
from journey.engine.config_file import SYNC_OBJECTS
from journey.vocabulary import STANDARD_FIELD_TYPES

if TYPE_CHECKING:
    # The store is imported where a catalog reads or writes it: ``schema_for`` serves
    # ``journey check``, which never opens a store (nor loads SQLAlchemy).
    import sqlalchemy as sa

    from journey.engine.config import ProjectConfig
    from journey.engine.store import Store

__all__ = ["Catalog", "JourneyLoadError", "journey_key", "load_catalog", "schema_for"]


class JourneyLoadError(Exception):
    """A published journey does not compile; ``diagnostics`` say where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        lines = [
            f"{d.path}:{d.line}:{d.column}: {d.severity}: {d.message}"
            for d in diagnostics
            if d.severity == "error"
        ]
        super().__init__("\n".join(lines) or "a journey does not compile")


def journey_key(name: str) -> str:
    return name.casefold()


def schema_for(config: ProjectConfig) -> Schema:
    """What the project declares, as the checker's ``Schema``: the standard fields, the
    ``[fields]`` and the fields mapped under ``[sync.fields.*]``, the groups and segments.
    Without a ``journey.toml`` those kinds are unknown (warnings, not errors). ``journey
    check`` and the engine both use this, so a journey that checks also loads."""
    from journey.engine.sync.mapping import inbound_only_fields

    if not config.found:
        return Schema(standard_fields=STANDARD_FIELD_TYPES)
    fields: dict[str, str] = dict(config.all_fields())
    for sobject in SYNC_OBJECTS:
        for name in config.sync.mappings(sobject):
            fields.setdefault(name, "Text")
    return Schema(
        fields=fields,
        groups=frozenset(config.groups),
        segments=frozenset(config.segments),
        standard_fields=STANDARD_FIELD_TYPES,
        inbound_fields=inbound_only_fields(config.sync, config.all_fields()),
    )


@dataclass
class Catalog:
    """The current journeys by name, plus every version a run may be pinned to."""

    current: dict[str, CompiledJourney] = field(default_factory=dict)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)  # version -> (path, text)
    _versions: dict[str, CompiledJourney] = field(default_factory=dict)
    store: Store | None = None
    #: Errors of the files that did not load (``load_catalog(strict=False)``).
    problems: list[Diagnostic] = field(default_factory=list)
    #: Paths of those files whose last good version is still the current one.
    kept: list[str] = field(default_factory=list)
    _listening: set[tuple[str, str]] | None = None

    def add(self, journey: CompiledJourney, source: str, path: str) -> None:
        key = journey_key(journey.name)
        if key in self.current:
            other = self.current[key].source_path
            raise JourneyLoadError(
                [
                    Diagnostic(
                        path,
                        1,
                        1,
                        "error",
                        f'journey "{journey.name}" is also in {other}',
                        "give each journey its own name",
                        code="J006",
                    )
                ]
            )
        self.current[key] = journey
        self._listening = None
        self._versions[journey.version] = journey
        self.sources[journey.version] = (path, source)

    def listens(self, kind: str, name: str) -> bool:
        """Does any current journey have a trigger for events of this kind and name?"""
        if self._listening is None:
            self._listening = {_trigger_key(t) for j in self.current.values() for t in j.triggers}
        return (kind, name.casefold()) in self._listening

    def get(self, version: str) -> CompiledJourney:
        """The compiled journey of a version, recompiled from the store when it is old."""
        found = self._versions.get(version)
        if found is not None:
            return found
        if self.store is None:
            raise KeyError(version)
        import sqlalchemy as sa

        from journey.engine.store import JourneyVersion

        jv = JourneyVersion
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(jv).where(jv.c.version == version)).first()
        if row is None:
            raise KeyError(version)
        # An old version is recompiled leniently: names it used may no longer be declared.
        # Today's compiler gives its steps their ids; a key made under an earlier step-id
        # scheme (``dsl.walk.STEP_ID_SCHEME``) differs from today's hash of the same source,
        # and the run keeps its key. Scheme 1 gives the ids the source-only hash had.
        journey, diagnostics = compile_source(row.source, row.path, None)
        if journey is None:
            raise JourneyLoadError(diagnostics)
        journey = replace(journey, version=version)
        self._versions[version] = journey
        return journey

    def publish(self, now: datetime) -> None:
        """Keep the source of every current version in the store, and record the current
        versions as the published ones (idempotent). Runs stay on the versions they
        entered with: moving them is ``journey publish --migrate`` (``engine.plan``)."""
        if self.store is None:
            return
        import sqlalchemy as sa

        from journey.engine.store import JourneyVersion

        jv = JourneyVersion
        with self.store.begin() as conn:
            self._record_published(conn, now)
            known = {r.version for r in conn.execute(sa.select(jv.c.version))}
            rows = [
                {
                    "version": v,
                    "name": self._versions[v].name,
                    "path": p,
                    "source": s,
                    "first_seen": now,
                }
                for v, (p, s) in self.sources.items()
                if v not in known
            ]
            if rows:
                conn.execute(sa.insert(jv), rows)

    def _record_published(self, conn: sa.Connection, now: datetime) -> None:
        """``published_journeys`` becomes the current journeys: a version that changed is
        stamped ``now``, a journey no longer current is removed."""
        import sqlalchemy as sa

        from journey.engine.store import PublishedJourney

        pj = PublishedJourney
        before = {r.journey_key: r.version for r in conn.execute(sa.select(pj))}
        gone = [key for key in before if key not in self.current]
        if gone:
            conn.execute(sa.delete(pj).where(pj.c.journey_key.in_(gone)))
        for key, journey in self.current.items():
            if before.get(key) == journey.version:
                continue
            path = self.sources[journey.version][0]
            row = {"name": journey.name, "version": journey.version, "path": path}
            if key in before:
                conn.execute(
                    sa.update(pj).where(pj.c.journey_key == key).values(**row, published_at=now)
                )
            else:
                conn.execute(sa.insert(pj).values(journey_key=key, **row, published_at=now))


def _trigger_key(trigger: Trigger) -> tuple[str, str]:
    """(event kind, casefolded name) of the events a trigger waits for."""
    match trigger:
        case FormSubmitted(form=name):
            return ("form_submitted", name.casefold())
        case AddedToList(list_name=name):
            return ("added_to_list", name.casefold())
        case EnteredSegment(segment=name):
            return ("entered_segment", name.casefold())
        case FieldChanged(field=name):
            return ("field_changed", name.casefold())
        case CampaignMemberStatusChanged(campaign=name):
            return ("campaign_status_changed", name.casefold())
    raise AssertionError(trigger)  # pragma: no cover


def journey_files(config: ProjectConfig) -> list[Path]:
    folder = config.root / "journeys"
    return sorted(folder.rglob("*.journey")) if folder.is_dir() else []


def _compile_one(
    path: Path, schema: Schema
) -> tuple[CompiledJourney | None, str, list[Diagnostic]]:
    """One file compiled, or its errors. Whatever goes wrong stays with this file: a
    special file (a FIFO would block the read), an unreadable or non-UTF-8 one, and any
    exception from the compiler become a diagnostic naming the file."""
    if not path.is_file():
        return None, "", [Diagnostic(str(path), 1, 1, "error", "not a regular file", code="J001")]
    text, problem = read_source(path)
    if text is None:
        return None, "", [problem] if problem else []
    # Newlines as a text-mode read gives them: the version hashes this text.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        journey, diagnostics = compile_source(text, str(path), schema)
    except Exception as exc:  # any bug in the compiler costs this file only, named
        message = f"cannot be loaded: {type(exc).__name__}: {exc}"
        return None, text, [Diagnostic(str(path), 1, 1, "error", message, code="J005")]
    return journey, text, [d for d in diagnostics if d.severity == "error"]


def _last_good(previous: Catalog | None, path: Path) -> tuple[CompiledJourney, str] | None:
    """The version of ``path`` that ``previous`` published, with its source."""
    if previous is None:
        return None
    for journey in previous.current.values():
        if journey.source_path == str(path):
            return journey, previous.sources[journey.version][1]
    return None


def load_catalog(
    config: ProjectConfig,
    store: Store | None = None,
    files: Iterable[Path] | None = None,
    *,
    previous: Catalog | None = None,
    strict: bool = True,
) -> Catalog:
    """Compile the project's published journeys. ``strict``: any error raises
    ``JourneyLoadError`` with every diagnostic. Otherwise each file stands alone: one
    that does not load is left out, or, when ``previous`` published it, stays at that
    last good version; its errors are in the catalog's ``problems`` either way."""
    catalog = Catalog(store=store)
    schema = schema_for(config)
    errors: list[Diagnostic] = []
    for path in journey_files(config) if files is None else files:
        journey, text, problems = _compile_one(path, schema)
        if journey is None:
            errors.extend(problems)
            kept = _last_good(previous, path)
            if kept is None:
                continue
            journey, text = kept
            catalog.kept.append(str(path))
        try:
            catalog.add(journey, text, str(path))
        except JourneyLoadError as exc:
            errors.extend(exc.diagnostics)
    if errors and strict:
        raise JourneyLoadError(errors)
    catalog.problems = errors
    return catalog
