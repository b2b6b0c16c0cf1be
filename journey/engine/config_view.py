"""``journey.toml`` read without the configuration's models, for the commands that only look.

Pipeline position: beside ``engine.config``, for ``journey check``, the dry run and the
import (``engine.intake_project``). Loading Pydantic and
building the configuration's models costs a third of a ``journey check``; most projects on
the embedded org hold only ``[salesforce] seed``, ``[groups]``, ``[segments]`` and
``[fields]``, which need no models to be read. ``read_view`` reads such a file, checks
each value as ``engine.config`` does and answers what ``check`` reads of a
``ProjectConfig``; any other file — another section or key, a value of another type, a
file that does not parse — gets ``None``, and ``load_config`` reads it, so every refusal
is still worded (and placed) by ``engine.config``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from journey.engine.config_file import (
    DEFAULT_STORE_URL,
    find_config,
    seed_path,
    state_dir,
    store_url,
)
from journey.vocabulary import STANDARD_FIELD_TYPES, FieldType

__all__ = ["ProjectView", "read_view"]

#: What a view vouches for: section -> its keys (``None``: any name, of that value kind).
_SECTIONS = ("salesforce", "groups", "segments", "fields")
_SALESFORCE_KEYS = ("seed", "default_company")
_FIELD_TYPES = get_args(FieldType)


@dataclass(frozen=True)
class _SalesforceView:
    seed: str | None = None
    instance_url: None = None
    remote: bool = False
    kind: None = None


@dataclass(frozen=True)
class _ObjectSyncView:
    mode: str = "all"
    criteria: tuple[()] = ()


class _SyncView:
    """No ``[sync]`` section: every object synced whole, no custom field mappings."""

    def mappings(self, sobject: str) -> dict[str, Any]:
        return {}

    def object_sync(self, sobject: str) -> _ObjectSyncView:
        return _ObjectSyncView()


@dataclass(frozen=True)
class ProjectView:
    """What ``journey check`` reads of a ``ProjectConfig``, with the same values."""

    root: Path
    found: bool = False
    groups: dict[str, list[str]] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    salesforce: _SalesforceView = field(default_factory=_SalesforceView)
    sync: _SyncView = field(default_factory=_SyncView)

    @property
    def seed_path(self) -> Path | None:
        return seed_path(self.root, self.salesforce.seed)

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root)

    @property
    def store_url(self) -> str:
        # A file the view vouches for has no [store] section.
        return store_url(self.root, DEFAULT_STORE_URL)

    def all_fields(self) -> dict[str, str]:
        return {**STANDARD_FIELD_TYPES, **self.fields}


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _vouched(raw: dict[str, Any]) -> bool:
    """Whether ``engine.config`` takes ``raw`` as it is (no coercion, no default filled
    in a way a view would not): the sections and keys above, each of its exact type."""
    if not set(raw) <= set(_SECTIONS):
        return False
    salesforce = raw.get("salesforce", {})
    if not _texts(salesforce) or not set(salesforce) <= set(_SALESFORCE_KEYS):
        return False
    groups = raw.get("groups", {})
    if not isinstance(groups, dict) or not all(
        isinstance(users, list) and users and all(isinstance(u, str) for u in users)
        for users in groups.values()
    ):
        return False
    fields = raw.get("fields", {})
    if not _texts(fields) or not all(kind in _FIELD_TYPES for kind in fields.values()):
        return False
    return _texts(raw.get("segments", {}))


def read_view(start: Path | None = None) -> ProjectView | None:
    """The project ``start`` belongs to, as ``load_config`` would load it; ``None`` when
    this reader does not vouch for the file (then ``load_config`` reads it)."""
    origin = (start or Path.cwd()).resolve()
    path = find_config(origin)
    if path is None:
        return ProjectView(root=origin if origin.is_dir() else origin.parent)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not _vouched(raw):
        return None
    salesforce = raw.get("salesforce", {})
    return ProjectView(
        root=path.parent,
        found=True,
        groups={name: list(users) for name, users in raw.get("groups", {}).items()},
        segments=dict(raw.get("segments", {})),
        fields=dict(raw.get("fields", {})),
        salesforce=_SalesforceView(seed=salesforce.get("seed")),
    )
