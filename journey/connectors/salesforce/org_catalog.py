"""Reading what journeys name in the org — users, queues, campaigns and their member
statuses, lead statuses, the describes of the objects journeys and the sync touch — for
``journey salesforce refresh``; and the same from the embedded org's seed.

Pipeline position: CLI (``journey salesforce refresh``) → **org catalog** → batching →
the org; the result (``engine.org_cache.OrgCatalog``) is cached in ``.journey/org.json``
for ``journey check``, which never calls Salesforce itself.

Few calls: ONE Composite request carries five queries (Salesforce allows at most five
query subrequests in one Composite call) and the seven describes (sObject Describe is a
Composite subrequest too; the whole series counts as one API call:
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html);
the lead statuses are one more plain query. Pages past the first (``nextRecordsUrl``) are
read with ``query_more``. Users are read active and inactive: a journey naming an inactive
one is a ``check`` error, not an unknown name. ``LeadStatus.ApiName`` exists from API 36.0
(https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-leadstatus.html);
an org that refuses it is read again without it. Given the connector's state, the
describes read are kept there too (``describe``), where the sync and the ``update
salesforce field`` action read them, so one refresh serves all three. Every value in SOQL is escaped
(``format_soql``); there are none from users here but the queue IDs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from journey.emulator.schema import SchemaError, standard_schema
from journey.emulator.seed import DEFAULT_CAMPAIGN_STATUSES, DEFAULT_LEAD_STATUSES
from journey.engine.org_cache import (
    CATALOG_OBJECTS,
    OrgCampaign,
    OrgCatalog,
    OrgField,
    OrgLeadStatus,
    OrgQueue,
    OrgUser,
)

if TYPE_CHECKING:
    from journey.connectors.salesforce.batching import OrgApi
    from journey.connectors.salesforce.state import ConnectorState

__all__ = ["QUERIES", "read_catalog", "seed_catalog"]

#: The Composite call's queries (reference → SOQL): five, Composite's limit for queries.
QUERIES: Mapping[str, str] = {
    "users": "SELECT Id, Username, Name, Email, IsActive FROM User",
    "queues": "SELECT Id, Name, Email FROM Group WHERE Type = 'Queue'",
    "members": "SELECT GroupId, UserOrGroupId FROM GroupMember WHERE Group.Type = 'Queue'",
    "campaigns": "SELECT Id, Name FROM Campaign",
    "statuses": "SELECT CampaignId, Label, SortOrder FROM CampaignMemberStatus",
}
_LEAD_STATUSES = "SELECT MasterLabel, ApiName, IsConverted, SortOrder FROM LeadStatus"
_LEAD_STATUSES_OLD = "SELECT MasterLabel, IsConverted, SortOrder FROM LeadStatus"

#: Called with (what is being read, steps done, steps in all) for a progress bar.
Progress = Callable[[str, int, int], None]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def read_catalog(
    api: OrgApi,
    instance_url: str,
    progress: Progress | None = None,
    *,
    state: ConnectorState | None = None,
) -> OrgCatalog:
    """The org's catalog, read now. Raises ``SalesforceProblem`` when a read is refused
    (the code and the query's name in the message); an object the user may not describe
    is left out (its fields stay unchecked). ``state``: where the describes read are kept
    for the connector (``describe.keep_fields``)."""
    # Imported here: ``seed_catalog`` serves ``journey check``, which never talks to an org.
    from journey.connectors.salesforce.describe import field_info, keep_fields
    from journey.connectors.salesforce.errors import CallRefusedError, first_error

    tell = progress or (lambda _what, _done, _total: None)
    calls_before = api.budget.calls
    base = f"/services/data/v{api.sf.sf_version}"
    subrequests = [
        {"method": "GET", "url": f"{base}/query/?q={quote(soql)}", "referenceId": ref}
        for ref, soql in QUERIES.items()
    ] + [
        {"method": "GET", "url": f"{base}/sobjects/{name}/describe", "referenceId": name}
        for name in CATALOG_OBJECTS
    ]
    tell("users, queues, campaigns and describes", 0, 3)
    answer: Any = api.call(
        partial(
            api.sf.restful,
            "composite",
            method="POST",
            json={"allOrNone": False, "compositeRequest": subrequests},
        )
    )
    bodies: dict[str, Any] = {}
    for sub in answer.get("compositeResponse", []):
        reference = str(sub.get("referenceId"))
        status = int(sub.get("httpStatusCode", 500))
        if status < 300:
            bodies[reference] = sub.get("body")
        elif reference in QUERIES:
            code, message = first_error(sub.get("body"))
            raise CallRefusedError(code, f"reading the org's {reference}: {message}")
    if state is not None:
        for name in CATALOG_OBJECTS:
            if isinstance(body := bodies.get(name), dict):
                fields = [field_info(f) for f in body.get("fields", []) if isinstance(f, Mapping)]
                keep_fields(state, name, fields)
    tell("more pages", 1, 3)
    rows = {ref: _all_rows(api, bodies.get(ref) or {}) for ref in QUERIES}
    tell("lead statuses", 2, 3)
    statuses = _lead_statuses(api)
    tell("done", 3, 3)
    return OrgCatalog(
        read_at=datetime.now(UTC),
        instance_url=instance_url,
        users=tuple(
            OrgUser(
                _text(r.get("Id")),
                _text(r.get("Username")),
                _text(r.get("Name")),
                _text(r.get("Email")),
                bool(r.get("IsActive")),
            )
            for r in rows["users"]
        ),
        queues=_queues(rows["queues"], rows["members"]),
        campaigns=_campaigns(rows["campaigns"], rows["statuses"]),
        lead_statuses=statuses,
        objects={
            name: _fields(body)
            for name in CATALOG_OBJECTS
            if isinstance(body := bodies.get(name), dict)
        },
        api_calls=api.budget.calls - calls_before,
    )


def _all_rows(api: OrgApi, page: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = list(page.get("records", []))
    while not page.get("done", True) and page.get("nextRecordsUrl"):
        url = str(page["nextRecordsUrl"])
        page = api.call(partial(api.sf.query_more, url, identifier_is_url=True))
        rows.extend(page.get("records", []))
    return rows


def _lead_statuses(api: OrgApi) -> tuple[OrgLeadStatus, ...]:
    from journey.connectors.salesforce.errors import SalesforceProblem

    try:
        rows = api.query(_LEAD_STATUSES + " ORDER BY SortOrder")
    except SalesforceProblem as problem:
        if problem.code != "INVALID_FIELD":
            raise
        rows = api.query(_LEAD_STATUSES_OLD + " ORDER BY SortOrder")
    return tuple(
        OrgLeadStatus(
            _text(r.get("MasterLabel")), _text(r.get("ApiName")), bool(r.get("IsConverted"))
        )
        for r in rows
    )


def _queues(
    queues: Sequence[Mapping[str, Any]], members: Sequence[Mapping[str, Any]]
) -> tuple[OrgQueue, ...]:
    by_group: dict[str, list[str]] = {}
    for member in members:
        by_group.setdefault(_text(member.get("GroupId"))[:15], []).append(
            _text(member.get("UserOrGroupId"))
        )
    return tuple(
        OrgQueue(
            _text(q.get("Id")),
            _text(q.get("Name")),
            _text(q.get("Email")),
            tuple(by_group.get(_text(q.get("Id"))[:15], [])),
        )
        for q in queues
    )


def _campaigns(
    campaigns: Sequence[Mapping[str, Any]], statuses: Sequence[Mapping[str, Any]]
) -> tuple[OrgCampaign, ...]:
    by_campaign: dict[str, list[tuple[float, str]]] = {}
    for status in statuses:
        order = status.get("SortOrder")
        by_campaign.setdefault(_text(status.get("CampaignId"))[:15], []).append(
            (float(order) if isinstance(order, int | float) else 0.0, _text(status.get("Label")))
        )
    return tuple(
        OrgCampaign(
            _text(c.get("Id")),
            _text(c.get("Name")),
            tuple(label for _, label in sorted(by_campaign.get(_text(c.get("Id"))[:15], []))),
        )
        for c in campaigns
    )


def _fields(describe: Mapping[str, Any]) -> tuple[OrgField, ...]:
    out = []
    for item in describe.get("fields", []):
        if not isinstance(item, Mapping) or not item.get("name"):
            continue
        length = item.get("length")
        out.append(
            OrgField(
                name=_text(item["name"]),
                label=_text(item.get("label")),
                type=_text(item.get("type")),
                length=length if isinstance(length, int) and length > 0 else None,
                updateable=bool(item.get("updateable")),
                calculated=bool(item.get("calculated")),
            )
        )
    return tuple(out)


# ---- the embedded org: its seed says it all ---------------------------------------------


def _entries(seed: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = seed.get(key)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _seed_users(seed: Mapping[str, Any]) -> tuple[OrgUser, ...]:
    users = []
    for user in _entries(seed, "User"):
        email = _text(user.get("Email"))
        name = _text(user.get("Name")) or " ".join(
            _text(user.get(k)) for k in ("FirstName", "LastName") if user.get(k)
        )
        username = _text(user.get("Username")) or email
        users.append(OrgUser("", username, name, email, user.get("IsActive", True) is not False))
    return tuple(users)


def _seed_campaigns(seed: Mapping[str, Any]) -> tuple[OrgCampaign, ...]:
    out = []
    for campaign in _entries(seed, "Campaign"):
        statuses = campaign.get("statuses")
        listed = statuses if isinstance(statuses, list) and statuses else DEFAULT_CAMPAIGN_STATUSES
        labels = [_text(s.get("Label")) if isinstance(s, Mapping) else _text(s) for s in listed]
        out.append(OrgCampaign("", _text(campaign.get("Name")), tuple(filter(None, labels))))
    return tuple(c for c in out if c.name)


def _seed_objects(seed: Mapping[str, Any]) -> dict[str, tuple[OrgField, ...]]:
    """The describes the embedded org gives, from its standard objects and the seed's
    custom fields; none when the seed's fields cannot be read (they are the org's error)."""
    schema = standard_schema()
    declared = seed.get("fields", {})
    try:
        if isinstance(declared, Mapping):
            schema.add_custom_fields(declared)
    except (SchemaError, TypeError, ValueError, KeyError, AttributeError):
        return {}
    objects = {}
    for name in CATALOG_OBJECTS:
        sobject = schema.get(name)
        if sobject is not None:
            objects[name] = _fields(sobject.describe("65.0"))
    return objects


def seed_catalog(seed: Mapping[str, Any], read_at: datetime) -> OrgCatalog:
    """What the embedded org seeded from ``seed`` holds, as a refresh would read it (its
    IDs aside: the org makes them when it is first started). Never raises: a seed the org
    would refuse is refused when the org starts."""
    queues = tuple(
        OrgQueue("", _text(g.get("Name")), _text(g.get("Email")))
        for g in _entries(seed, "Group")
        if g.get("Type") == "Queue" and g.get("Name")
    )
    statuses = _entries(seed, "LeadStatus") or DEFAULT_LEAD_STATUSES
    return OrgCatalog(
        read_at=read_at,
        instance_url="",
        users=_seed_users(seed),
        queues=queues,
        campaigns=_seed_campaigns(seed),
        lead_statuses=tuple(
            OrgLeadStatus(
                _text(s.get("MasterLabel")),
                _text(s.get("MasterLabel")),
                bool(s.get("IsConverted")),
            )
            for s in statuses
            if s.get("MasterLabel")
        ),
        objects=_seed_objects(seed),
    )
