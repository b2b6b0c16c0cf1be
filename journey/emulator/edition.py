"""Which org this is: its edition, whether it is a sandbox, its instance, and whether its
edition has API access — the ``Organization`` record a client queries.

Pipeline position: the seed's ``"Organization"`` settings are kept in the store and made
into the one ``Organization`` record (``SELECT OrganizationType, IsSandbox, InstanceName
FROM Organization``); the server asks ``api_enabled`` before it serves any REST or SOAP
call. "API access is enabled by default in Enterprise, Performance, Unlimited, and
Developer Edition orgs. Professional Edition orgs can add API access as an add-on … If you
send an API request to an org without API access, Salesforce returns a
API_DISABLED_FOR_ORG error"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compatible_editions.htm).
The OAuth endpoints stay open either way: a token can be had, the API refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.ids import mint
from journey.emulator.org import Org
from journey.emulator.values import format_datetime

__all__ = [
    "API_EDITIONS",
    "DEFAULT_EDITION",
    "ORGANIZATION_ID",
    "OrgSettings",
    "api_disabled",
    "ensure_organization",
    "parse_settings",
    "settings",
]

#: The one org's 18-character ID (the prefix of every access token, in its 15-character form).
ORGANIZATION_ID = mint("Organization", 1)
DEFAULT_EDITION = "Developer Edition"
#: The editions whose API is on without an add-on.
API_EDITIONS = frozenset(
    {"Developer Edition", "Enterprise Edition", "Unlimited Edition", "Performance Edition"}
)
_META = "organization"
_KNOWN = {"Name", "OrganizationType", "IsSandbox", "InstanceName", "api_enabled"}


@dataclass(frozen=True)
class OrgSettings:
    name: str = "Emulated Org"
    organization_type: str = DEFAULT_EDITION
    is_sandbox: bool = False
    instance_name: str = "EMU1"
    api_enabled: bool = True


def parse_settings(spec: Any) -> OrgSettings:
    """The seed's ``"Organization"`` object (``api_enabled`` defaults from the edition)."""
    if spec is None:
        return OrgSettings()
    if not isinstance(spec, Mapping):
        raise ValueError('seed Organization: expected an object such as {"OrganizationType": …}')
    unknown = sorted(set(spec) - _KNOWN)
    if unknown:
        raise ValueError(f"seed Organization: unknown setting(s) {', '.join(unknown)}")
    edition = str(spec.get("OrganizationType") or DEFAULT_EDITION)
    sandbox = bool(spec.get("IsSandbox", False))
    return OrgSettings(
        name=str(spec.get("Name") or "Emulated Org"),
        organization_type=edition,
        is_sandbox=sandbox,
        instance_name=str(spec.get("InstanceName") or ("EMU1S" if sandbox else "EMU1")),
        api_enabled=bool(spec.get("api_enabled", edition in API_EDITIONS)),
    )


def store_settings(org: Org, value: OrgSettings) -> None:
    org.store.set_meta(
        _META,
        {
            "Name": value.name,
            "OrganizationType": value.organization_type,
            "IsSandbox": value.is_sandbox,
            "InstanceName": value.instance_name,
            "api_enabled": value.api_enabled,
        },
    )


def settings(org: Org) -> OrgSettings:
    return parse_settings(org.store.meta(_META))


def ensure_organization(org: Org) -> None:
    """The ``Organization`` record, made once from the settings (an org whose state
    predates the setting gets the default edition)."""
    with org.store.lock:
        if org.store.get(ORGANIZATION_ID) is not None:
            return
        value = settings(org)
        record: dict[str, Any] = {
            f.name: (False if f.type == "boolean" else None)
            for f in org.object("Organization").fields.values()
        }
        now = format_datetime(org.now())
        record.update(
            {
                "Id": ORGANIZATION_ID,
                "Name": value.name,
                "OrganizationType": value.organization_type,
                "IsSandbox": value.is_sandbox,
                "InstanceName": value.instance_name,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": org.store.meta("connected_user"),
                "LastModifiedById": org.store.meta("connected_user"),
                "IsDeleted": False,
            }
        )
        with org.store.transaction():
            org.store.insert("Organization", record)


def api_disabled(org: Org) -> ApiError | None:
    """The refusal every REST and SOAP call gets when the edition has no API access."""
    if settings(org).api_enabled:
        return None
    return ApiError(
        403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner"
    )
