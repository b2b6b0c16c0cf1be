"""What the org has: each synced object's fields as ``describe`` reports them, so a
cycle selects only fields that exist.

Pipeline position: the cycle's first step -> **describe** -> ``mapping`` (which standard
fields and extras to read, which sync inbound only) and the criteria (a checkbox's type).
An org is not every org: Person Accounts are off by default, so ``IsPersonAccount`` and
the ``Person…`` fields exist only where an administrator enabled them; a field hidden by
field-level security is absent from the integration user's describe. Such a standard
field is not read; a field ``[sync.fields.X]`` maps, or ``[sync.X]``'s criteria name,
that the org lacks stops the cycle with an error naming it, because syncing without it
would silently lose (or widen) what the user asked for.

The source keeps each describe (the connector's state), so this costs API calls only
the first time, after ``journey salesforce fields refresh``, when a mapped field is
missing from what was kept — then the objects are described again once, in case the field
was created since — and after the org refused a read for a field describe had listed
(the cycle marks what was kept as stale: a field deleted since).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from journey.connectors.sync import FieldInfo, SyncReadError

if TYPE_CHECKING:
    from journey.engine.config import SyncConfig

__all__ = ["Describes", "OrgFields", "describe_org"]


@runtime_checkable
class Describes(Protocol):
    """What ``describe_org`` asks of an org: the sync's source, or a connector that reads
    through it (the link read's, ``engine.linking``)."""

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]: ...


@dataclass(frozen=True)
class OrgFields:
    """The described objects' fields, looked up without letter case as Salesforce does."""

    objects: Mapping[str, Mapping[str, FieldInfo]]

    @classmethod
    def of(cls, described: Mapping[str, Sequence[FieldInfo]]) -> OrgFields:
        return cls(
            {o.casefold(): {f.name.casefold(): f for f in fs} for o, fs in described.items()}
        )

    def field(self, sobject: str, path: str) -> FieldInfo | None:
        """The field a path names, following relationships (``Account.Industry`` on a
        Contact) through objects described; None when the org lacks it."""
        fields = self.objects.get(sobject.casefold())
        if fields is None:
            return None
        *hops, last = path.split(".")
        for hop in hops:
            reference = next(
                (f for f in fields.values() if (f.relationship or "").casefold() == hop.casefold()),
                None,
            )
            if reference is None:
                return None
            targets = reference.reference_to
            onward = self.objects.get(targets[0].casefold()) if len(targets) == 1 else None
            if onward is None:
                # Polymorphic (Owner: User or Group) or not described: the relationship
                # exists, which is all that can be told without another call.
                return FieldInfo(last, last, "string", False, False, False)
            fields = onward
        return fields.get(last.casefold())

    def has(self, sobject: str, path: str) -> bool:
        return self.field(sobject, path) is not None

    def read_only(self, sobject: str) -> frozenset[str]:
        """API names describe reports not updateable or a formula."""
        fields = self.objects.get(sobject.casefold(), {})
        return frozenset(f.name for f in fields.values() if not f.writable)


def _missing(
    org: OrgFields, sobject: str, config: SyncConfig, *, criteria: bool = True
) -> list[str]:
    """What the configuration names on ``sobject`` that the org lacks, each saying where
    (``criteria``: the criteria of ``[sync.X]`` too, not only the mappings)."""
    out = [
        f'{sobject}.{m.salesforce} (mapped to "{name}" in [sync.fields.{sobject}])'
        for name, m in config.mappings(sobject).items()
        if not org.has(sobject, m.salesforce)
    ]
    section = config.object_sync(sobject)
    if criteria and section.mode == "criteria":
        out += [
            f"{sobject}.{c.field} (in the criteria of [sync.{sobject}])"
            for c in section.criteria
            if not org.has(sobject, c.field)
        ]
    return out


def describe_org(
    source: Describes,
    objects: Sequence[str],
    config: SyncConfig,
    *,
    refresh: bool = False,
    criteria: bool = True,
) -> OrgFields:
    """Describe each synced object (the source keeps them; ``refresh``: read them anew)
    and check the custom mappings (and, with ``criteria``, the criteria) against it;
    raises ``SyncReadError`` (``INVALID_FIELD``) naming a field the org lacks, after one
    fresh describe."""
    described = {o: source.describe(o, refresh=refresh) for o in objects}
    org = OrgFields.of(described)

    def missing(sobject: str) -> list[str]:
        return _missing(org, sobject, config, criteria=criteria)

    if not refresh and any(missing(o) for o in objects):
        # Kept describes may predate the field: read them all again (a relationship path
        # such as Contact's Account.Region__c goes through another object's).
        described = {o: source.describe(o, refresh=True) for o in objects}
        org = OrgFields.of(described)
    problems = [problem for sobject in objects for problem in missing(sobject)]
    if problems:
        raise SyncReadError(
            "INVALID_FIELD",
            f"the org has no field {'; no field '.join(problems)}: create it in Salesforce "
            "(and give the integration user access), or change the mapping in journey.toml",
        )
    return org
