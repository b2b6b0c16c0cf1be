"""Seeding an emulated org from JSON: users, queues, lead statuses, campaigns, rules,
custom and formula fields, and records.

Pipeline position: run once, when an org's store is new (a restarted org keeps its state
and is not re-seeded). Records refer to users and queues by email, and to each other by
a ``"ref"`` name (``"AccountId": "#acme"``), so a seed reads like the org it describes.
The format is documented in ``docs/emulator.md``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journey.emulator.errors import ApiError
from journey.emulator.schema import SchemaError, standard_schema

if TYPE_CHECKING:
    from journey.emulator.org import Org

# Reading a seed (``load_seed``, the defaults) is light: ``journey check`` reads the embedded
# org's names from it. Applying one needs the org itself, so the modules that make an org
# are imported by the methods that apply the seed, not here.

__all__ = [
    "DEFAULT_SEED",
    "MAX_SEED_BYTES",
    "SeedError",
    "apply_seed",
    "load_seed",
    "seed_emails",
    "seed_names",
]

#: What an org holds without a seed: one connected admin and Salesforce's lead statuses.
DEFAULT_SEED: dict[str, Any] = {
    "User": [{"Name": "Admin User", "Email": "admin@emulated.example", "connected": True}],
}
DEFAULT_LEAD_STATUSES: list[dict[str, Any]] = [
    {"MasterLabel": "Open - Not Contacted", "IsDefault": True},
    {"MasterLabel": "Working - Contacted"},
    {"MasterLabel": "Closed - Converted", "IsConverted": True},
    {"MasterLabel": "Closed - Not Converted"},
]
DEFAULT_CAMPAIGN_STATUSES: list[Any] = ["Sent", {"Label": "Responded", "HasResponded": True}]
#: The Account record types of an org with Person Accounts: a business one, and the
#: default person account record type Salesforce provides, ``PersonAccount``
#: (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm).
DEFAULT_ACCOUNT_RECORD_TYPES: list[dict[str, Any]] = [
    {"Name": "Business Account", "DeveloperName": "Business_Account", "IsPersonType": False},
    {"Name": "Person Account", "DeveloperName": "PersonAccount", "IsPersonType": True},
]

_SETTINGS = {
    "User",
    "Group",
    "LeadStatus",
    "Campaign",
    "AssignmentRule",
    "fields",
    "limits",
    "LeadConvert",
    "LeadSettings",
    "ConnectedApp",
    "Organization",
    "session_timeout_minutes",
    "PersonAccounts",
    "RecordType",
    "RecycleBinDays",
    "EnableSoapApiLogin",
}
#: Keys of a seed User entry that are not User fields.
_USER_SETTINGS = ("connected", "Name", "password", "security_token")
_RECORD_ORDER = ["Account", "Contact", "Lead", "Opportunity", "CampaignMember", "Task", "Event"]


class SeedError(ValueError):
    """A seed the emulated org cannot load; the message names the entry and the problem."""


def load_seed(source: Mapping[str, Any] | Path | str | None) -> dict[str, Any]:
    """Read a seed from a mapping or a JSON file; ``None`` gives the default seed."""
    if source is None:
        return dict(DEFAULT_SEED)
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    raw = _read_regular(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise SeedError(
            f"{path}:{line}:{column}: not UTF-8 text: a seed is a UTF-8 JSON file"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SeedError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from None
    except RecursionError:
        raise SeedError(f"{path}: invalid JSON: nested too deep") from None
    except ValueError as error:  # e.g. an integer past Python's digit limit
        raise SeedError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path}: a seed is a JSON object keyed by object name")
    return data


#: The largest seed file read, far above any seed a test or a demo needs.
MAX_SEED_BYTES = 64 * 1024 * 1024


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_SEED_BYTES``. Opened without blocking
    and looked at before reading, so a FIFO, a device (``/dev/zero`` never ends) or a
    folder is refused at once, never read."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise SeedError(f"{path}: cannot read the seed: {error.strerror}") from None
    try:
        kind = os.fstat(handle)
        if stat.S_ISDIR(kind.st_mode):
            raise SeedError(f"{path}: is a folder, not a seed file")
        if not stat.S_ISREG(kind.st_mode):
            raise SeedError(f"{path}: not a regular file (a seed is a JSON file)")
        if kind.st_size > MAX_SEED_BYTES:
            raise SeedError(f"{path}: {kind.st_size:,} bytes; a seed is at most {MAX_SEED_BYTES:,}")
        with os.fdopen(handle, "rb", closefd=False) as stream:
            raw = stream.read(MAX_SEED_BYTES + 1)
    except OSError as error:
        raise SeedError(f"{path}: cannot read the seed: {error.strerror}") from None
    finally:
        os.close(handle)
    if len(raw) > MAX_SEED_BYTES:  # the file grew while it was read
        raise SeedError(f"{path}: more than {MAX_SEED_BYTES:,} bytes")
    return raw


def seed_names(seed: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The users (emails and names) and campaigns (names) a seed gives the org: what
    ``journey check`` may hold journeys against before the embedded org ever starts."""
    users = frozenset(
        str(user[key])
        for user in _listed(seed, "User")
        if isinstance(user, Mapping)
        for key in ("Email", "Name")
        if user.get(key)
    )
    campaigns = frozenset(
        str(c["Name"])
        for c in _listed(seed, "Campaign")
        if isinstance(c, Mapping) and c.get("Name")
    )
    return users, campaigns


def seed_emails(seed: Mapping[str, Any]) -> frozenset[str]:
    """Every text a seed gives a field whose name ends in "Email", anywhere in it, letter
    case folded: a superset of the emails its org's Leads and Contacts will have (a
    Contact made by a conversion or a person account takes its email from the seed's
    Lead or ``PersonEmail``), for a caller that must know before the org is made."""
    found: set[str] = set()
    stack: list[Any] = [seed]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, str) and str(key).casefold().endswith("email"):
                    found.add(item.casefold())
                else:
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return frozenset(found)


def _listed(seed: Mapping[str, Any], key: str) -> list[Any]:
    """The entries under ``key`` when they are a list (``apply_seed`` refuses others)."""
    value = seed.get(key, [])
    return value if isinstance(value, list) else []


def apply_seed(org: Org, seed: Mapping[str, Any]) -> None:
    """Load ``seed`` into a new org (one transaction: all of it or none)."""
    unknown = [k for k in seed if k not in _SETTINGS and org.schema.get(k) is None]
    if unknown:
        raise SeedError(f"seed: unknown object(s) {', '.join(sorted(unknown))}")
    try:
        with org.store.transaction():
            _Seeder(org, seed).run()
    except SeedError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        # A value of the wrong shape where the entries above look for another (a number
        # for a list, a list for an object): one message, whatever the entry.
        raise SeedError(f"seed: an entry has the wrong shape: {error}") from None


class _Seeder:
    def __init__(self, org: Org, seed: Mapping[str, Any]) -> None:
        self.org = org
        self.seed = seed
        self.refs: dict[str, str] = {}
        self.people: dict[str, str] = {}  # email or queue name (lower case) → ID

    def entries(self, key: str) -> list[dict[str, Any]]:
        value = self.seed.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise SeedError(f"seed {key}: expected a list of objects")
        return value

    def run(self) -> None:
        from journey.emulator.formula import FormulaError
        from journey.emulator.soql import SoqlError

        store = self.org.store
        limits = self.seed.get("limits", {})
        if "DailyApiRequests" in limits:
            store.set_meta("api_limit", int(limits["DailyApiRequests"]))
        self.recycle_bin()
        self.person_accounts()
        try:
            self.org.schema.add_custom_fields(self.seed.get("fields", {}))
        except SchemaError as error:
            raise SeedError(str(error)) from None
        store.set_meta("custom_fields", self.seed.get("fields", {}))
        self.users()
        self.groups()
        for index, status in enumerate(self.entries("LeadStatus") or DEFAULT_LEAD_STATUSES):
            label = status.get("MasterLabel")
            if not label:
                raise SeedError(f"seed LeadStatus[{index}]: MasterLabel is required")
            self.create(
                "LeadStatus",
                index,
                {
                    "MasterLabel": label,
                    "ApiName": status.get("ApiName") or label,
                    "SortOrder": index + 1,
                    "IsDefault": bool(status.get("IsDefault")),
                    "IsConverted": bool(status.get("IsConverted")),
                },
            )
        self.campaigns()
        self.rules()
        try:
            self.org.configure()
        except (SoqlError, FormulaError) as error:
            raise SeedError(f"seed: {getattr(error, 'message', error)}") from None
        keys = [k for k in _RECORD_ORDER if k in self.seed]
        keys += [k for k in self.seed if k not in _SETTINGS and k not in keys]
        for key in keys:
            for index, entry in enumerate(self.entries(key)):
                values = {k: self.resolve(v) for k, v in entry.items() if k != "ref"}
                record_id = self.create(key, index, values)
                if "ref" in entry:
                    self.refs[str(entry["ref"])] = record_id
        self.conversions()
        self.access()

    def access(self) -> None:
        """Connected apps, the session timeout, the edition and whether SOAP ``login()``
        is enabled (``emulator.apps``, ``emulator.tokens``, ``emulator.edition``,
        ``emulator.soap_login``)."""
        from journey.emulator import edition
        from journey.emulator.apps import parse_app, store_apps
        from journey.emulator.soap_login import seed_login_setting

        users = {
            str(u[key]).lower(): str(u["Id"])
            for u in self.org.store.scan("User")
            for key in ("Email", "Username")
            if u.get(key)
        }
        try:
            store_apps(
                self.org.store,
                [parse_app(i, e, users) for i, e in enumerate(self.entries("ConnectedApp"))],
            )
            edition.store_settings(self.org, edition.parse_settings(self.seed.get("Organization")))
            seed_login_setting(self.org, self.seed.get("EnableSoapApiLogin", False))
        except ValueError as error:
            raise SeedError(str(error)) from None
        if "session_timeout_minutes" in self.seed:
            minutes = self.seed["session_timeout_minutes"]
            if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes <= 0:
                raise SeedError("seed session_timeout_minutes: a positive number of minutes")
            self.org.store.set_meta("session_timeout_minutes", minutes)

    def create(self, sobject: str, index: int, values: Mapping[str, Any]) -> str:
        try:
            return self.org.create(sobject, values, auto_assign=False, system=True)
        except ApiError as error:
            raise SeedError(f"seed {sobject}[{index}]: {error.code}: {error.message}") from None

    def conversions(self) -> None:
        """Leads converted before the tool met the org: through the org's own conversion,
        so the Lead is frozen and its Contact, Account (and Opportunity) exist as any
        converted Lead's do."""
        from journey.emulator.conversion import LeadConvert, convert_lead
        from journey.emulator.object_rules import status_name

        for index, entry in enumerate(self.entries("LeadConvert")):
            lead = self.resolve(entry.get("lead"))
            if not isinstance(lead, str) or not lead:
                raise SeedError(f'seed LeadConvert[{index}]: "lead" must be "#ref" of a Lead')
            status = entry.get("status") or next(
                (status_name(r) for r in self.org.store.scan("LeadStatus") if r.get("IsConverted")),
                None,
            )
            result = convert_lead(
                self.org,
                LeadConvert(
                    lead_id=lead,
                    converted_status=status,
                    account_id=self.resolve(entry["account"]) if entry.get("account") else None,
                    do_not_create_opportunity=not entry.get("opportunity", False),
                ),
            )
            if result.error is not None:
                raise SeedError(
                    f"seed LeadConvert[{index}]: {result.error.code}: {result.error.message}"
                )
            for key, value in (("contact", result.contact_id), ("account", result.account_id)):
                name = entry.get(f"{key}_ref")
                if name and value:
                    self.refs[str(name)] = value

    def resolve(self, value: Any) -> Any:
        """``#ref`` → the seeded record's ID; an email of a user or queue → its ID."""
        if isinstance(value, str) and value.startswith("#"):
            if value[1:] not in self.refs:
                raise SeedError(f'seed: no record with "ref": {value[1:]!r} (seeded earlier)')
            return self.refs[value[1:]]
        if isinstance(value, str) and value.lower() in self.people:
            return self.people[value.lower()]
        return value

    def users(self) -> None:
        from journey.emulator.soap_login import seed_credentials

        users = self.entries("User") or DEFAULT_SEED["User"]
        connected = [u for u in users if u.get("connected")] or users[:1]
        if len(connected) > 1:
            raise SeedError('seed User: only one user can be "connected"')
        ordered = sorted(enumerate(users), key=lambda pair: pair[1] is not connected[0])
        for index, user in ordered:
            email = str(user.get("Email", ""))
            name = str(user.get("Name", ""))
            first, _, last = name.rpartition(" ")
            values = {k: v for k, v in user.items() if k not in _USER_SETTINGS}
            values.setdefault("FirstName", first or None)
            values.setdefault("LastName", last or email.split("@")[0])
            values.setdefault("Username", email)
            values.setdefault("IsActive", True)
            values.setdefault("Alias", (values["LastName"] or "user")[:8])
            user_id = self.create("User", index, values)
            try:  # "password", "security_token": what SOAP login() checks (soap_login)
                seed_credentials(self.org, user_id, user)
            except ValueError as error:
                raise SeedError(f"seed User[{index}]: {error}") from None
            self.people[email.lower()] = user_id
            self.people.setdefault(str(values["Username"]).lower(), user_id)
            if user is connected[0]:
                # The connected user created itself: the first record has no creator yet.
                self.org.store.set_meta("connected_user", user_id)
                self.org.system_update(user_id, {"CreatedById": user_id})

    def recycle_bin(self) -> None:
        """``RecycleBinDays`` (1 to 15): how long deleted records stay in the recycle bin
        before they are gone for good — 15 in Salesforce; fewer lets a test reach the
        end of the bin without moving the clock two weeks."""
        if "RecycleBinDays" not in self.seed:
            return
        days = self.seed["RecycleBinDays"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 15:
            raise SeedError("seed RecycleBinDays: a whole number of days, 1 to 15")
        self.org.store.set_meta("recycle_bin_days", days)

    def person_accounts(self) -> None:
        """``"PersonAccounts": true`` enables them: Account and Contact get their person
        fields and Account its record types, each ``"#DeveloperName"`` to the records
        (``"RecordTypeId": "#PersonAccount"`` makes a person account). ``RecordType``
        entries add record types of their own."""
        enabled = self.seed.get("PersonAccounts", False)
        if not isinstance(enabled, bool):
            raise SeedError("seed PersonAccounts: true or false")
        record_types = self.entries("RecordType")
        if not enabled:
            if record_types:
                raise SeedError('seed RecordType: needs "PersonAccounts": true')
            return
        self.org.store.set_meta("person_accounts", True)
        self.org.schema = standard_schema(person_accounts=True)
        for index, entry in enumerate(DEFAULT_ACCOUNT_RECORD_TYPES + record_types):
            values = {"SobjectType": "Account", "IsActive": True, **entry}
            values.setdefault("DeveloperName", str(values.get("Name", "")).replace(" ", "_"))
            record_id = self.create("RecordType", index, values)
            self.refs[str(values["DeveloperName"])] = record_id

    def groups(self) -> None:
        for index, group in enumerate(self.entries("Group")):
            values = {k: v for k, v in group.items() if k != "members"}
            values.setdefault("Type", "Regular")
            values.setdefault("DeveloperName", str(group.get("Name", "")).replace(" ", "_"))
            group_id = self.create("Group", index, values)
            for key in (group.get("Email"), group.get("Name")):
                if key:
                    self.people[str(key).lower()] = group_id
            for member in group.get("members", []):
                member_id = self.people.get(str(member).lower())
                if member_id is None:
                    raise SeedError(f"seed Group[{index}]: no user or group {member!r}")
                self.create("GroupMember", index, {"GroupId": group_id, "UserOrGroupId": member_id})

    def campaigns(self) -> None:
        for index, campaign in enumerate(self.entries("Campaign")):
            values = {
                k: self.resolve(v) for k, v in campaign.items() if k not in ("statuses", "ref")
            }
            campaign_id = self.create("Campaign", index, values)
            if "ref" in campaign:
                self.refs[str(campaign["ref"])] = campaign_id
            for order, status in enumerate(campaign.get("statuses") or DEFAULT_CAMPAIGN_STATUSES):
                spec = {"Label": status} if isinstance(status, str) else dict(status)
                spec.setdefault("IsDefault", order == 0)
                spec["SortOrder"] = order + 1
                self.create("CampaignMemberStatus", index, {"CampaignId": campaign_id, **spec})

    def rules(self) -> None:
        for index, rule in enumerate(self.entries("AssignmentRule")):
            # Every declared rule is a read-only AssignmentRule record, active or not.
            kind = str(rule.get("object", "Lead"))
            values = {
                "Name": str(rule.get("name") or f"{kind} Assignment Rule"),
                "Active": bool(rule.get("active", True)),
                "SobjectType": kind,
            }
            self.create("AssignmentRule", index, values)
        active = [r for r in self.entries("AssignmentRule") if r.get("active", True)]
        lead_rules = [r for r in active if r.get("object", "Lead") == "Lead"]
        if len(lead_rules) > 1:
            raise SeedError("seed AssignmentRule: only one Lead rule can be active")
        entries = []
        for index, entry in enumerate(lead_rules[0].get("entries", []) if lead_rules else []):
            owner = self.people.get(str(entry.get("owner", "")).lower())
            if owner is None:
                raise SeedError(
                    f"seed AssignmentRule entry {index}: no user or queue {entry.get('owner')!r}"
                )
            entries.append(
                {
                    "criteria": str(entry.get("criteria", "")),
                    "owner_id": owner,
                    "doNotReassignOwner": bool(entry.get("doNotReassignOwner", False)),
                }
            )
        self.org.store.set_meta("assignment_rules", entries)
        self.lead_settings()

    def lead_settings(self) -> None:
        """``LeadSettings.DefaultLeadOwner``: a user (email or username) or a queue (name
        or email) that Leads no rule entry matches go to."""
        settings = self.seed.get("LeadSettings", {})
        if not isinstance(settings, dict):
            raise SeedError("seed LeadSettings: expected an object")
        unknown = sorted(set(settings) - {"DefaultLeadOwner"})
        if unknown:
            raise SeedError(f"seed LeadSettings: unknown setting(s) {', '.join(unknown)}")
        name = settings.get("DefaultLeadOwner")
        if name is None:
            return
        owner = self.people.get(str(name).lower())
        found = self.org.store.get(owner) if owner else None
        if found is None or (found[0] == "Group" and found[1].get("Type") != "Queue"):
            raise SeedError(f"seed LeadSettings: DefaultLeadOwner: no user or queue {name!r}")
        self.org.store.set_meta("default_lead_owner", owner)
