"""Project configuration: ``journey.toml``, found in a folder or its parents.

Pipeline position: read once by the CLI, then handed down — the declared fields, groups
and segments to the language's checker, the store URL to the engine, the Salesforce
connection to the connectors. Every key has a default, so a project without a
``journey.toml`` still runs (on the embedded emulated org and a local SQLite store).
Secrets never live here: only the *names* of environment variables that hold them.
See ``docs/configuration.md`` for every key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from journey.engine.config_file import (
    CONFIG_FILE,
    DEFAULT_STORE_URL,
    SYNC_OBJECTS,
    find_config,
    seed_path,
    state_dir,
    store_url,
)
from journey.engine.serve_config import ServeConfig
from journey.vocabulary import NOT_PROVIDED, STANDARD_FIELD_TYPES, FieldType

__all__ = [
    "CONFIG_FILE",
    "PRODUCTION_LOGIN_URL",
    "SANDBOX_LOGIN_URL",
    "STANDARD_FIELDS",
    "SYNC_OBJECTS",
    "AuthKind",
    "ConfigError",
    "FieldMapping",
    "FieldType",
    "NotificationsConfig",
    "ObjectSync",
    "ProjectConfig",
    "SalesforceConfig",
    "ServeConfig",
    "StoreConfig",
    "SyncConfig",
    "SyncCriterion",
    "find_config",
    "load_config",
    "parse_duration",
]

#: Contact fields every project has without declaring them, with their types (the
#: Salesforce vocabulary's standard fields).
STANDARD_FIELDS: dict[str, FieldType] = dict(STANDARD_FIELD_TYPES)


class ConfigError(Exception):
    """``journey.toml`` cannot be read or holds a bad value; the message names the file
    and the key."""


class _Section(BaseModel):
    # Unknown keys are refused so a typo ("asignment_rules_on_update") is caught, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreConfig(_Section):
    url: str = DEFAULT_STORE_URL


#: How a real org is reached (docs/salesforce.md, "Connecting"): the OAuth 2.0 flows, a
#: session ID pasted from elsewhere, or SOAP ``login()`` with a password.
AuthKind = Literal["jwt", "client_credentials", "web", "session", "password"]
#: Salesforce's login servers (``login_url`` when none is set).
PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
#: The keys each ``auth`` needs, besides ``login_url`` (all: the names of environment
#: variables, or a file).
_AUTH_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "jwt": (("client_id_env",), ("username_env",), ("private_key_file", "private_key_env")),
    "client_credentials": (("client_id_env",), ("client_secret_env",)),
    "web": (("client_id_env",),),
    "session": (("session_id_env",), ("instance_url",)),
    "password": (("username_env",), ("password_env",)),
}


class SalesforceConfig(_Section):
    seed: str | None = None
    #: ``jwt``, ``client_credentials``, ``web``, ``session`` or ``password``; without it,
    #: ``session_id_env`` means ``session`` and ``username_env`` means ``password`` (and
    #: neither: the embedded emulated org).
    auth: AuthKind | None = None
    #: Where the OAuth flows (and SOAP ``login()``) go: Salesforce's login server, or the
    #: org's My Domain URL. Default: https://login.salesforce.com, or
    #: https://test.salesforce.com with ``sandbox = true``.
    login_url: str | None = None
    #: The org's URL. The OAuth flows take it from the token response; a session ID needs it.
    instance_url: str | None = None
    session_id_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    security_token_env: str | None = None
    #: The connected app's consumer key and secret (names of environment variables).
    client_id_env: str | None = None
    client_secret_env: str | None = None
    #: The JWT bearer flow's private key: a PEM file, or a variable holding the PEM text.
    private_key_file: str | None = None
    private_key_env: str | None = None
    #: The loopback port ``journey salesforce connect`` listens on (``auth = "web"``): the
    #: connected app's callback URL is http://127.0.0.1:PORT/callback.
    callback_port: int = Field(default=1717, ge=1, le=65535)
    sandbox: bool = False
    ca_file: str | None = None
    #: The current version (Winter '27), as the emulated org's default; SOAP ``login()``
    #: is gone from 65.0 on (``auth = "password"`` logs in at 64.0), the OAuth flows are not.
    api_version: str = Field(default="68.0", pattern=r"^\d{2,3}\.0$")
    default_company: str = NOT_PROVIDED
    assignment_rules_on_update: bool = False
    max_daily_api_share: float = Field(default=0.5, gt=0, le=1)
    #: Updates of more records than this in one action go through Bulk API 2.0.
    bulk_threshold: int = Field(default=2000, ge=1)
    #: Seconds to open a connection to Salesforce, and to wait for the next bytes of an
    #: answer: every call is bounded (a hung org gives ``retry``, not a hung process).
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)

    @field_validator("login_url", "instance_url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https://[^/\s]+/?$", url):
            raise ValueError(f'"{url}" is not an https:// URL of a host (no path)')
        return url.rstrip("/") if url else url

    @model_validator(mode="after")
    def _auth_complete(self) -> SalesforceConfig:
        kind = self.kind
        if kind is None:
            if self.client_id_env:
                raise ValueError(
                    'client_id_env is set but not auth: say auth = "jwt", "client_credentials" '
                    'or "web"'
                )
            return self
        for choices in _AUTH_NEEDS[kind]:
            if not any(getattr(self, key) for key in choices):
                raise ValueError(f'auth = "{kind}" needs {" or ".join(choices)}')
        if kind == "jwt" and self.private_key_file and self.private_key_env:
            raise ValueError("set private_key_file or private_key_env, not both")
        if kind == "client_credentials" and not self.login_url:
            # Salesforce answers this flow only at the org's own My Domain.
            raise ValueError(
                'auth = "client_credentials" needs login_url: the org\'s My Domain URL '
                "(https://yourcompany.my.salesforce.com)"
            )
        return self

    @property
    def kind(self) -> AuthKind | None:
        """``auth``, or the kind the older keys imply; ``None``: the embedded emulated org
        (or, with only ``instance_url``, a connection missing its credentials)."""
        if self.auth is not None:
            return self.auth
        if self.session_id_env:
            return "session"
        if self.username_env:
            return "password"
        return None

    @property
    def remote(self) -> bool:
        """A real org (or a standalone emulated one) rather than the embedded org."""
        return self.kind is not None or self.instance_url is not None

    @property
    def effective_login_url(self) -> str:
        if self.login_url:
            return self.login_url
        return SANDBOX_LOGIN_URL if self.sandbox else PRODUCTION_LOGIN_URL


class NotificationsConfig(_Section):
    """``[notifications]``: where ``send notification`` mail goes (``connectors.notify``)."""

    smtp_url_env: str | None = None
    from_: str = Field(default="journeys@localhost", alias="from")
    #: Send the SMTP password over a connection without TLS (a server offering no
    #: STARTTLS). Off: such a send is refused. ``smtp://…?insecure=true`` says the same.
    allow_plaintext: bool = False
    #: Seconds to wait for the server to accept the connection and for each answer.
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    #: A PEM file of the CA(s) that sign the server's certificate, instead of the system's.
    ca_file: str | None = None


SyncMode = Literal["all", "criteria", "none"]
SyncOperator = Literal[
    "is", "is not", "contains", "starts with", ">", ">=", "<", "<=", "is empty", "is not empty"
]
#: "inbound only": Salesforce's value always wins and the engine never writes the field (a
#: formula or locked field); a journey writing it is a ``journey check`` error.
SyncDirection = Literal["salesforce wins", "engine wins", "latest wins", "inbound only"]
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``"10m"``, ``"30s"``, ``"1h"``, ``"1d"``; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f'"{text}" is not a duration (write e.g. "10m", "30s", "1h")')
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


class SyncCriterion(_Section):
    """One criterion of ``[sync.<Object>] criteria``: a Salesforce field (API name), an
    operator and a value; a comma in a text value means OR ("Open, Working")."""

    field: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
    op: SyncOperator = "is"
    value: str | float | bool | None = None

    def values(self) -> list[str | float | bool]:
        """The OR-ed values (a text value split on commas)."""
        if self.value is None:
            return []
        if isinstance(self.value, str):
            return [part.strip() for part in self.value.split(",") if part.strip()]
        return [self.value]


class ObjectSync(_Section):
    """``[sync.<Object>]``: which records of the object the sync keeps in the store."""

    mode: SyncMode = "all"
    criteria: list[SyncCriterion] = []
    #: A record that stops meeting the criteria: removed from the store, or kept as it is
    #: and no longer synced.
    when_no_longer_matching: Literal["remove", "keep"] = "remove"


class FieldMapping(_Section):
    """``[sync.fields.<Object>] "Contact Field" = { salesforce = "Api_Name__c", ... }``.
    ``direction`` settles a field changed on both sides between two cycles."""

    salesforce: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
    direction: SyncDirection = "salesforce wins"


class SyncConfig(BaseModel):
    """``[sync]``: the schedule plus per-object sections (``[sync.Lead]``) and field
    mappings (``[sync.fields.Lead]``). The sections stay in ``model_extra`` (the checker
    reads the mapped field names from there); they are validated on load and read, typed,
    through ``object_sync`` and ``mappings``. Unknown keys are refused."""

    model_config = ConfigDict(extra="allow", frozen=True)

    every: str = "10m"
    #: Changes are read from the last watermark minus this many seconds: a record saved
    #: in a transaction that committed late still has an earlier SystemModstamp.
    overlap_seconds: int = Field(default=300, ge=0)
    #: A first (or ``--full``) read of more records than this goes through Bulk API 2.0.
    bulk_threshold: int = Field(default=10000, ge=1)
    #: Activity sync (off by default): the activity feed goes to Salesforce as Events.
    activities: bool = False

    @field_validator("every")
    @classmethod
    def _every_is_duration(cls, every: str) -> str:
        parse_duration(every)
        return every

    @model_validator(mode="after")
    def _sections(self) -> SyncConfig:
        for key, value in (self.model_extra or {}).items():
            if key == "fields":
                if not isinstance(value, dict):
                    raise ValueError("fields: expected a table per object ([sync.fields.Lead])")
                for obj, mapping in value.items():
                    if obj not in SYNC_OBJECTS:
                        raise ValueError(f"fields.{obj}: not a synced object {SYNC_OBJECTS}")
                    if not isinstance(mapping, dict):
                        raise ValueError(f"fields.{obj}: expected a table of mappings")
                    for name, spec in mapping.items():
                        try:
                            FieldMapping.model_validate(spec)
                        except ValidationError as exc:
                            raise ValueError(f'fields.{obj}."{name}": {_first(exc)}') from None
            elif key in SYNC_OBJECTS:
                try:
                    section = ObjectSync.model_validate(value)
                except ValidationError as exc:
                    raise ValueError(f"{key}: {_first(exc)}") from None
                if section.mode == "criteria" and not section.criteria:
                    raise ValueError(f'{key}: mode = "criteria" needs criteria')
            else:
                raise ValueError(
                    f"unknown key {key!r} (expected every, overlap_seconds, bulk_threshold, "
                    f"activities, fields or one of {', '.join(SYNC_OBJECTS)})"
                )
        return self

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.every)

    def object_sync(self, sobject: str) -> ObjectSync:
        """The ``[sync.<Object>]`` section (``mode = "all"`` when absent)."""
        raw = (self.model_extra or {}).get(sobject)
        return ObjectSync() if raw is None else ObjectSync.model_validate(raw)

    def mappings(self, sobject: str) -> dict[str, FieldMapping]:
        """Custom mappings of ``[sync.fields.<Object>]``: contact field -> mapping."""
        raw = ((self.model_extra or {}).get("fields") or {}).get(sobject) or {}
        return {str(name): FieldMapping.model_validate(spec) for name, spec in raw.items()}


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


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
    serve: ServeConfig = ServeConfig()

    @field_validator("groups")
    @classmethod
    def _groups_not_empty(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, users in groups.items():
            if not users:
                raise ValueError(f'group "{name}" has no users')
        return groups

    @property
    def store_url(self) -> str:
        """``config_file.store_url``: the environment's, else ``[store] url``."""
        return store_url(self.root, self.store.url)

    @property
    def seed_path(self) -> Path | None:
        return seed_path(self.root, self.salesforce.seed)

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root)

    def all_fields(self) -> dict[str, FieldType]:
        """Standard fields plus the declared ones (declared types win)."""
        return {**STANDARD_FIELDS, **self.fields}


def load_config(start: Path | None = None) -> ProjectConfig:
    """Load the project's configuration, searching upwards from ``start`` (default: the
    current folder). Raises ``ConfigError`` naming the file and the bad key."""
    origin = (start or Path.cwd()).resolve()
    path = find_config(origin)
    if path is None:
        root = origin if origin.is_dir() else origin.parent
        return ProjectConfig(root=root)
    try:
        data = path.read_bytes()
        raw: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        # TOML files are UTF-8 by definition (toml.io, "Spec": "A TOML file must be a valid
        # UTF-8 encoded Unicode document"); say where the first other byte is.
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02X}) (at line {line}, column "
            f"{column}): save journey.toml as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return ProjectConfig.model_validate({**raw, "root": path.parent, "found": True})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
