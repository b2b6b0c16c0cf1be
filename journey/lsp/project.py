"""What the editor server knows of a journey's project: its ``journey.toml``, the schema
the checker holds journeys against, the org's names, and the names its journeys use.

Pipeline position: the editor's counterpart of ``journey check``'s project loading
(``cli.language.load_project``, which it calls, so a file shows the same problems in the
editor as in CI). What the checker only needs as sets of names, completion and hover need
with their details: a field's type and where it comes from, a user's name beside their
email, a campaign's member statuses in the org's order, a segment's condition. Those come
from the same sources: ``journey.toml``, the embedded org's seed or the cache ``journey
salesforce refresh`` wrote (``project_catalog``); the server never calls Salesforce.

A project is read again only when one of its files changed (their modification times are
the key), so typing costs a check, not a reload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from journey.cli.language import load_project, project_catalog
from journey.dsl import Diagnostic, Schema
from journey.engine.config import (
    CONFIG_FILE,
    SYNC_OBJECTS,
    ConfigError,
    ProjectConfig,
    find_config,
    load_config,
)
from journey.engine.journeys import schema_for
from journey.engine.org_cache import OrgCatalog, cache_path
from journey.vocabulary import CONTACTS_LIST, LEADS_LIST, STANDARD_FIELDS

__all__ = ["FieldInfo", "Project", "load", "toml_line"]


@dataclass(frozen=True)
class FieldInfo:
    """A contact field as a journey names it: its type, and where it comes from."""

    name: str
    type: str
    source: str


@dataclass(frozen=True)
class Project:
    """One project as the server sees it; ``config.found`` is False for a file outside any
    project (then only the standard fields are known, as for ``journey check``)."""

    config: ProjectConfig
    schema: Schema
    #: Problems of journey.toml and of the org's cache, by their own paths.
    problems: tuple[Diagnostic, ...] = ()
    catalog: OrgCatalog | None = None
    #: The names the project's saved journeys use for lists and forms (no file declares
    #: them: a list is whatever a journey or an import names).
    lists: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    fields: dict[str, FieldInfo] = field(default_factory=dict)

    @property
    def toml(self) -> Path | None:
        return self.config.root / CONFIG_FILE if self.config.found else None


_LIST_USE = re.compile(r'\b(?:list|in list)\s+"((?:[^"\\\n]|\\.)*)"', re.IGNORECASE)
_FORM_USE = re.compile(r'\bform\s+submitted\s+"((?:[^"\\\n]|\\.)*)"', re.IGNORECASE)


def _names_used(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lists: dict[str, None] = {LEADS_LIST: None, CONTACTS_LIST: None}
    forms: dict[str, None] = {}
    folder = root / "journeys"
    for path in sorted(folder.rglob("*.journey")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lists.update(dict.fromkeys(m.replace('\\"', '"') for m in _LIST_USE.findall(text)))
        forms.update(dict.fromkeys(m.replace('\\"', '"') for m in _FORM_USE.findall(text)))
    return tuple(lists), tuple(forms)


def _fields(config: ProjectConfig, catalog: OrgCatalog | None) -> dict[str, FieldInfo]:
    """Every field a journey may name, the way ``schema_for`` gathers them, with its
    source in words (the hover's second line)."""
    found: dict[str, FieldInfo] = {}
    for standard in STANDARD_FIELDS:
        paths = [f"{o}.{p}" for o, p in (("Lead", standard.lead), ("Contact", standard.contact))]
        where = ", ".join(p for p in paths if not p.endswith(".None")) or "the contact's owner"
        found[standard.name.casefold()] = FieldInfo(
            standard.name, standard.kind, f"standard contact field ({where})"
        )
    if not config.found:
        return found
    for name, kind in config.fields.items():
        found[name.casefold()] = FieldInfo(name, kind, "declared in journey.toml [fields]")
    for sobject in SYNC_OBJECTS:
        for name, mapping in config.sync.mappings(sobject).items():
            known = found.get(name.casefold())
            synced = f"synced with Salesforce {sobject}.{mapping.salesforce} ({mapping.direction})"
            source = f"{known.source}; {synced}" if known else synced
            found[name.casefold()] = FieldInfo(name, known.type if known else "Text", source)
    return found


def _stamp(paths: list[Path]) -> tuple[float, ...]:
    stamps = []
    for path in paths:
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:
            stamps.append(-1.0)
    return tuple(stamps)


_cache: dict[Path, tuple[tuple[float, ...], Project]] = {}


def _watched(toml: Path, config: ProjectConfig | None) -> list[Path]:
    paths = [toml]
    if config is not None:
        paths.append(cache_path(config.state_dir))
        if config.seed_path is not None:
            paths.append(config.seed_path)
        folder = config.root / "journeys"
        if folder.is_dir():
            paths += [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]
    return paths


def load(document: Path | None, now: datetime | None = None) -> Project:
    """The project ``document`` belongs to (found upwards from its folder, as ``journey
    check`` finds it), or the no-project view for an unsaved buffer or a loose file. A
    ``journey.toml`` that cannot be read is a diagnostic on it (``J602``), and the
    journey is checked as if outside a project."""
    toml = find_config(document) if document is not None else None
    if toml is None or document is None:
        return Project(ProjectConfig(), schema_for(ProjectConfig()))
    held = _cache.get(toml)
    if held is not None and held[0] == _stamp(_watched(toml, held[1].config)):
        return held[1]
    moment = now or datetime.now(UTC)
    try:
        config = load_config(document)
        schema, problems = load_project(document, moment)
        catalog = project_catalog(config, moment)[0]
    except ConfigError as exc:
        message = str(exc).removeprefix(f"{toml}: ")
        problem = Diagnostic(str(toml), 1, 1, "error", message, code="J602")
        return Project(ProjectConfig(), schema_for(ProjectConfig()), (problem,))
    lists, forms = _names_used(config.root)
    project = Project(
        config, schema, tuple(problems), catalog, lists, forms, _fields(config, catalog)
    )
    _cache[toml] = (_stamp(_watched(toml, config)), project)
    return project


_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:#.*)?$")


def toml_line(toml: Path, table: str, key: str) -> tuple[int, int, int] | None:
    """Where ``key`` is defined under ``[table]`` of ``toml``: (0-based line, start and
    end column of the key), for go to definition; None when it is not written there (a
    dotted or inline table: the key is still defined, only not on a line of its own)."""
    try:
        lines = toml.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    current = None
    wanted = key.casefold()
    for number, line in enumerate(lines):
        header = _TABLE.match(line)
        if header:
            current = header.group(1).replace(" ", "")
            continue
        if current != table:
            continue
        match = re.match(r'\s*("((?:[^"\\]|\\.)*)"|[A-Za-z0-9_-]+)\s*=', line)
        if match:
            name = match.group(2) if match.group(2) is not None else match.group(1)
            if name.casefold() == wanted:
                return number, match.start(1), match.end(1)
    return None
