"""What the project knows of its Salesforce org without calling it: the org cache.

Pipeline position: ``journey salesforce refresh`` (``connectors.salesforce.org_catalog``
reads the org) -> **the cache file** ``.journey/org.json`` -> ``journey check`` (the
checker's ``Schema``, through ``org_schema``). ``check`` never calls Salesforce: what it
holds journeys against is what the last refresh read (or, on the embedded org, the seed).

The file holds no secret (names, emails, field describes) but it is the org's data, not
the project's: it lives in ``.journey/`` (ignored by git; ``save_catalog`` makes sure with
a ``.journey/.gitignore`` of its own). It is stamped with a format version; a file this
version cannot read is refused with a message saying to refresh, never half read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from journey.dsl.diagnostics import Diagnostic, SalesforceField, Schema

__all__ = [
    "CACHE_FILE",
    "CATALOG_OBJECTS",
    "FORMAT",
    "STALE_AFTER",
    "OrgCacheError",
    "OrgCampaign",
    "OrgCatalog",
    "OrgField",
    "OrgLeadStatus",
    "OrgQueue",
    "OrgUser",
    "age_diagnostic",
    "cache_path",
    "load_cached",
    "org_schema",
    "save_catalog",
]

#: The cache file, under the project's ``.journey/``.
CACHE_FILE = "org.json"
#: The format this module writes and reads.
FORMAT = 1
#: A cache older than this makes ``check`` warn: users leave, campaigns are added.
STALE_AFTER = timedelta(days=7)
#: The objects whose describes are cached: those journeys and the sync name fields of.
CATALOG_OBJECTS = (
    "Lead",
    "Contact",
    "Account",
    "Campaign",
    "CampaignMember",
    "Task",
    "Opportunity",
)


class OrgCacheError(Exception):
    """The cache file cannot be read (broken JSON, another format); the message says to
    run the refresh again."""


@dataclass(frozen=True)
class OrgUser:
    id: str
    username: str
    name: str
    email: str
    active: bool

    def names(self) -> tuple[str, ...]:
        """Every way a journey may name the user: email, username, name, ID (15 and 18)."""
        return tuple(k for k in (self.email, self.username, self.name, self.id, self.id[:15]) if k)


@dataclass(frozen=True)
class OrgQueue:
    id: str
    name: str
    email: str = ""
    #: IDs of the users (or groups) in the queue.
    members: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return tuple(k for k in (self.name, self.email, self.id, self.id[:15]) if k)


@dataclass(frozen=True)
class OrgCampaign:
    id: str
    name: str
    #: Its member statuses (CampaignMemberStatus labels), in the org's order.
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrgLeadStatus:
    label: str
    api_name: str = ""
    converted: bool = False


@dataclass(frozen=True)
class OrgField:
    """One field of a describe: what the checker needs of it."""

    name: str
    label: str
    type: str
    length: int | None = None
    updateable: bool = False
    calculated: bool = False


@dataclass(frozen=True)
class OrgCatalog:
    """The org as the last refresh read it (or as the embedded org's seed gives it)."""

    read_at: datetime
    instance_url: str
    users: tuple[OrgUser, ...] = ()
    queues: tuple[OrgQueue, ...] = ()
    campaigns: tuple[OrgCampaign, ...] = ()
    lead_statuses: tuple[OrgLeadStatus, ...] = ()
    #: Object name -> its fields; an object the read could not describe is absent.
    objects: Mapping[str, tuple[OrgField, ...]] = field(default_factory=dict)
    #: API calls the read took (shown by the refresh).
    api_calls: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "read_at": self.read_at.astimezone(UTC).isoformat(),
            "instance_url": self.instance_url,
            "api_calls": self.api_calls,
            "users": [_plain(u) for u in self.users],
            "queues": [{**_plain(q), "members": list(q.members)} for q in self.queues],
            "campaigns": [{**_plain(c), "statuses": list(c.statuses)} for c in self.campaigns],
            "lead_statuses": [_plain(s) for s in self.lead_statuses],
            "objects": {k: [_plain(f) for f in v] for k, v in self.objects.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> OrgCatalog:
        """The catalog in ``data``; ``OrgCacheError`` for anything not of this format."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise OrgCacheError(f"not an org cache of format {FORMAT}")
        try:
            read_at = datetime.fromisoformat(str(data["read_at"]))
            return cls(
                read_at=read_at if read_at.tzinfo else read_at.replace(tzinfo=UTC),
                instance_url=str(data.get("instance_url") or ""),
                api_calls=int(data.get("api_calls") or 0),
                users=tuple(OrgUser(**u) for u in data.get("users", [])),
                queues=tuple(
                    OrgQueue(**{**q, "members": tuple(q.get("members", []))})
                    for q in data.get("queues", [])
                ),
                campaigns=tuple(
                    OrgCampaign(**{**c, "statuses": tuple(c.get("statuses", []))})
                    for c in data.get("campaigns", [])
                ),
                lead_statuses=tuple(OrgLeadStatus(**s) for s in data.get("lead_statuses", [])),
                objects={
                    str(k): tuple(OrgField(**f) for f in v)
                    for k, v in dict(data.get("objects", {})).items()
                },
            )
        except (KeyError, TypeError, ValueError) as error:
            raise OrgCacheError(f"an entry has the wrong shape: {error}") from None


def _plain(item: Any) -> dict[str, Any]:
    out = dict(vars(item))
    for key in ("members", "statuses"):
        out.pop(key, None)
    return out


def cache_path(state_dir: Path) -> Path:
    """The cache file of the project whose ``.journey/`` is ``state_dir``."""
    return state_dir / CACHE_FILE


def save_catalog(state_dir: Path, catalog: OrgCatalog) -> Path:
    """Write the cache atomically (a ``check`` running meanwhile reads the old one or the
    new one, never half a file). ``state_dir`` gets a ``.gitignore`` of ``*`` when it has
    none, so the org's names stay out of git even in a project without one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# journey's local state: never commit it\n*\n", encoding="utf-8")
    path = cache_path(state_dir)
    partial = path.with_name(f".{CACHE_FILE}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(catalog.as_json(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)
    return path


#: The last file read, by (path, mtime, size): ``check`` asks once or twice per journey
#: file, and a big org's cache is megabytes; a rewritten file is read again.
_LAST: dict[tuple[str, int, int], OrgCatalog] = {}


def load_cached(state_dir: Path) -> OrgCatalog | None:
    """The cached catalog, or ``None`` when no refresh has written one."""
    path = cache_path(state_dir)
    try:
        stamp = path.stat()
        key = (str(path.resolve()), stamp.st_mtime_ns, stamp.st_size)
        if key in _LAST:
            return _LAST[key]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise OrgCacheError(f"{path}: cannot be read: {error}") from None
    try:
        catalog = OrgCatalog.from_json(json.loads(text))
    except json.JSONDecodeError as error:
        raise OrgCacheError(f"{path}: broken JSON ({error.msg})") from None
    except OrgCacheError as error:
        raise OrgCacheError(f"{path}: {error}") from None
    _LAST.clear()
    _LAST[key] = catalog
    return catalog


def _fold(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in names if n)


def org_schema(schema: Schema, catalog: OrgCatalog) -> Schema:
    """``schema`` with what the org holds: its users (active, and inactive apart), queues,
    campaigns with their member statuses, lead statuses and the cached describes — so the
    checker holds journeys against the org instead of warning."""
    active = [u for u in catalog.users if u.active]
    inactive = [u for u in catalog.users if not u.active]
    statuses = [s.label for s in catalog.lead_statuses]
    statuses += [s.api_name for s in catalog.lead_statuses if s.api_name]
    return replace(
        schema,
        users=_fold(k for u in active for k in u.names()),
        inactive_users=_fold(k for u in inactive for k in u.names()),
        queues=_fold(k for q in catalog.queues for k in q.names()),
        campaigns=_fold(c.name for c in catalog.campaigns),
        member_statuses={c.name: frozenset(c.statuses) for c in catalog.campaigns},
        lead_statuses=_fold(statuses),
        salesforce_fields={
            sobject: tuple(
                SalesforceField(f.name, f.label, f.updateable and not f.calculated) for f in fields
            )
            for sobject, fields in catalog.objects.items()
        }
        or None,
    )


def _age_words(age: timedelta) -> str:
    if age < timedelta(minutes=1):
        return "just now"
    if age < timedelta(hours=1):
        minutes = int(age.total_seconds() // 60)
        return f"{minutes} minute{'s' * (minutes != 1)} ago"
    if age < timedelta(days=1):
        hours = int(age.total_seconds() // 3600)
        return f"{hours} hour{'s' * (hours != 1)} ago"
    return f"{age.days} day{'s' * (age.days != 1)} ago"


def age_diagnostic(state_dir: Path, catalog: OrgCatalog, now: datetime) -> Diagnostic:
    """The one line ``check`` gives about the cache: a note saying how old it is, or a
    warning to refresh it once it is older than ``STALE_AFTER``."""
    age = max(now - catalog.read_at, timedelta(0))
    when = catalog.read_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"checked against the org's names as read {_age_words(age)} ({when})"
    if catalog.instance_url:
        text += f" from {catalog.instance_url}"
    stale = age > STALE_AFTER
    hint = "run `journey salesforce refresh`: users leave, campaigns change" if stale else None
    return Diagnostic(
        str(cache_path(state_dir)),
        1,
        1,
        "warning" if stale else "note",
        text,
        hint,
        code="J420",
    )
