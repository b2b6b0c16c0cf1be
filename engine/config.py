"""Project configuration: ``journey.toml``, found in a folder or its parents.

Pipeline position: read once by the CLI, then handed down — the declared fields, groups
and segments to the language's checker, the store URL to the engine, the Salesforce
connection to the connectors. Every key has a default, so a project without a
``journey.toml`` still runs (on the embedded emulated org and a local SQLite store).
Secrets never live here: only the *names* of environment variables that hold them.
See ``docs/configuration.md`` for every key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "CONFIG_FILE",
    "STANDARD_FIELDS",
    "ConfigError",
    "FieldType",
    "NotificationsConfig",
    "ProjectConfig",
    "SalesforceConfig",
    "StoreConfig",
    "SyncConfig",
    "find_config",
    "load_config",
]

CONFIG_FILE = "journey.toml"

FieldType = Literal["Text", "Number", "Date", "True/False"]

#: Contact fields every project has without declaring them, with their types.
STANDARD_FIELDS: dict[str, FieldType] = {
    "Email": "Text",
    "First Name": "Text",
    "Last Name": "Text",
    "Company": "Text",
    "Title": "Text",
    "Phone": "Text",
    "Lead Source": "Text",
    "Lead Status": "Text",
    "Lead Owner": "Text",
    "Rating": "Text",
    "Annual Revenue": "Number",
    "Industry": "Text",
    "Country": "Text",
    "City": "Text",
    "State": "Text",
    "Postal Code": "Text",
    "Street": "Text",
    "Unsubscribed": "True/False",
    "Do Not Call": "True/False",
    "Description": "Text",
}


class ConfigError(Exception):
    """``journey.toml`` cannot be read or holds a bad value; the message names the file
    and the key."""


class _Section(BaseModel):
    # Unknown keys are refused so a typo ("asignment_rules_on_update") is caught, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreConfig(_Section):
    url: str = "sqlite:///.journey/state.db"


class SalesforceConfig(_Section):
    seed: str | None = None
    instance_url: str | None = None
    session_id_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    security_token_env: str | None = None
    sandbox: bool = False
    ca_file: str | None = None
    api_version: str = "59.0"
    default_company: str = "[not provided]"
    assignment_rules_on_update: bool = False
    max_daily_api_share: float = Field(default=0.5, gt=0, le=1)
    #: Updates of more records than this in one action go through Bulk API 2.0.
    bulk_threshold: int = Field(default=2000, ge=1)


class NotificationsConfig(_Section):
    smtp_url_env: str | None = None
    from_: str = Field(default="journeys@localhost", alias="from")


class SyncConfig(BaseModel):
    """``[sync]``: the schedule plus per-object sections (``[sync.Lead]``) and field
    mappings (``[sync.fields.Lead]``); their shape is owned by the sync."""

    model_config = ConfigDict(extra="allow", frozen=True)

    every: str = "10m"


class ProjectConfig(_Section):
    """A whole ``journey.toml``. ``root`` is the folder it was found in (relative paths in
    the file are relative to it); without a file it is the folder the search started in."""

    root: Path = Path(".")
    found: bool = False
    store: StoreConfig = StoreConfig()
    salesforce: SalesforceConfig = SalesforceConfig()
    groups: dict[str, list[str]] = {}
    segments: dict[str, str] = {}
    fields: dict[str, FieldType] = {}
    notifications: NotificationsConfig = NotificationsConfig()
    sync: SyncConfig = SyncConfig()

    @field_validator("groups")
    @classmethod
    def _groups_not_empty(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, users in groups.items():
            if not users:
                raise ValueError(f'group "{name}" has no users')
        return groups

    @property
    def store_url(self) -> str:
        """The store URL: ``JOURNEY_DATABASE_URL`` wins, then ``[store] url``; a relative
        SQLite path is taken relative to the project root."""
        url = os.environ.get("JOURNEY_DATABASE_URL") or self.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str((self.root / rest).resolve())
        return url

    @property
    def state_dir(self) -> Path:
        """``.journey/`` under the project root: store, emulator state, outbox."""
        return self.root / ".journey"

    def all_fields(self) -> dict[str, FieldType]:
        """Standard fields plus the declared ones (declared types win)."""
        return {**STANDARD_FIELDS, **self.fields}


def find_config(start: Path) -> Path | None:
    """The nearest ``journey.toml`` in ``start`` (a folder, or a file's folder) or above."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE
        if path.is_file():
            return path
    return None


def load_config(start: Path | None = None) -> ProjectConfig:
    """Load the project's configuration, searching upwards from ``start`` (default: the
    current folder). Raises ``ConfigError`` naming the file and the bad key."""
    origin = (start or Path.cwd()).resolve()
    path = find_config(origin)
    if path is None:
        root = origin if origin.is_dir() else origin.parent
        return ProjectConfig(root=root)
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return ProjectConfig.model_validate({**raw, "root": path.parent, "found": True})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
