"""The org's names in a journey: users, queues, campaigns, member and lead statuses, and
Salesforce fields, held against what the ``Schema`` knows of the connected org.

Pipeline position: part of the checker (``dsl.checker`` calls it for each name it meets).
What the schema knows comes from the embedded org's seed or from the last ``journey
salesforce refresh`` (``engine.org_cache``); the dsl never asks Salesforce. The rules:

* a kind the schema does not know (``None``) is a warning, once per name: it cannot be
  checked here (a real org with no refresh yet);
* a known kind: an unknown name is an error with the closest name as "did you mean";
* a user the org holds but has deactivated is an error wherever a journey names it: a
  Lead or Task cannot be given to them (Salesforce answers ``INACTIVE_OWNER_OR_USER``);
* a queue may own a Lead (``assign lead to``), never a Task (``add task``);
* what only Salesforce changes (``salesforce_owned``): who is in the two Salesforce lists
  (it is the record type), and the fields journey.toml maps inbound only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from journey.dsl.diagnostics import SalesforceField, Schema, Severity
from journey.dsl.hints import closest
from journey.dsl.syntax import RemoveFromList, Span, Statement, UpdateField, UpdateSalesforceField
from journey.vocabulary import is_salesforce_list, is_user_id, standard_field

__all__ = ["OrgNames", "field_on", "salesforce_owned"]


class Report(Protocol):
    """How a problem is collected (``dsl.checker``): over ``span``, with its code."""

    def __call__(
        self, span: Span, severity: Severity, message: str, hint: str | None = None, *, code: str
    ) -> None: ...


#: The objects ``update salesforce field`` writes: the contact's Lead or Contact.
_CONTACT_OBJECTS = ("Lead", "Contact")
_REFRESH = "run `journey salesforce refresh` to check it against the org"


def _has(name: str, known: Iterable[str]) -> bool:
    key = name.casefold()
    return any(key == k.casefold() for k in known)


def field_on(fields: Iterable[SalesforceField], name: str) -> SalesforceField | None:
    """The field ``name`` names, by API name first, then by label (as the connector looks
    it up, ``connectors.salesforce.fields``)."""
    listed = list(fields)
    key = name.strip().casefold()
    for by_label in (False, True):
        for item in listed:
            if (item.label if by_label else item.name).casefold() == key:
                return item
    return None


class OrgNames:
    """The org-name checks of one journey; ``warned`` is shared with the checker so each
    name is reported once."""

    def __init__(self, schema: Schema, report: Report, warned: set[tuple[str, str]]) -> None:
        self.schema = schema
        self.report = report
        self.warned = warned

    def _once(self, kind: str, name: str) -> bool:
        key = (kind, name.casefold())
        if key in self.warned:
            return False
        self.warned.add(key)
        return True

    def _unchecked(self, kind: str, name: str, span: Span) -> None:
        if self._once(kind, name):
            self.report(
                span,
                "warning",
                f'{kind} "{name}" cannot be checked: nothing declares {kind}s here',
                f"it is checked against the connected org's {kind}s when they are known: "
                + _REFRESH,
                code="J400",
            )

    # ------------------------------------------------------------ users

    def user(self, name: str, span: Span, *, queue_ok: bool) -> None:
        """A user named by email, username, name or ID (``assign lead to``, ``add task …
        assigned to``); ``queue_ok``: a queue may take it instead."""
        users = self.schema.users
        if users is None:
            self._unchecked("user", name, span)
            return
        queues = self.schema.queues or frozenset()
        if _has(name, self.schema.inactive_users):
            if self._once("user", name):
                self.report(
                    span,
                    "error",
                    f'user "{name}" is inactive in Salesforce',
                    "reactivate them in Salesforce or name another user "
                    "(Salesforce refuses an inactive owner: INACTIVE_OWNER_OR_USER)",
                    code="J402",
                )
            return
        if _has(name, users) or (queue_ok and _has(name, queues)):
            return
        if _has(name, queues):
            if self._once("user", name):
                self.report(
                    span,
                    "error",
                    f'"{name}" is a queue: a Task is owned by a user',
                    "name a user, or `assigned to lead owner`",
                    code="J403",
                )
            return
        if is_user_id(name) and not any(is_user_id(k) for k in users):
            return  # the users' IDs are not known (a seed): an ID cannot be checked
        if not self._once("user", name):
            return
        candidates = [*users, *(queues if queue_ok else ())]
        near = closest(name, candidates)
        hint = f"did you mean `{near}`?" if near else _known("users", users)
        self.report(span, "error", f'unknown user "{name}"', hint, code="J401")

    # ------------------------------------------------------------ campaigns

    def campaign(self, name: str, span: Span) -> bool:
        """True when the campaign is known to the org (its statuses can be checked)."""
        campaigns = self.schema.campaigns
        if campaigns is None:
            self._unchecked("campaign", name, span)
            return False
        if _has(name, campaigns):
            return True
        if self._once("campaign", name):
            near = closest(name, campaigns)
            hint = f"did you mean `{near}`?" if near else _known("campaigns", campaigns)
            self.report(span, "error", f'unknown campaign "{name}"', hint, code="J404")
        return False

    def member_status(self, campaign: str, status: str | None, span: Span) -> None:
        """The campaign, and the member status when one is named: one of the campaign's
        CampaignMemberStatus labels."""
        if not self.campaign(campaign, span) or status is None or "{{" in status:
            return
        by_name = {k.casefold(): v for k, v in (self.schema.member_statuses or {}).items()}
        statuses = by_name.get(campaign.casefold())
        if statuses is None or _has(status, statuses):
            return
        if self._once("member status", f"{campaign}\0{status}"):
            near = closest(status, statuses)
            hint = f"did you mean `{near}`?" if near else _known("statuses", statuses)
            self.report(
                span,
                "error",
                f'campaign "{campaign}" has no member status "{status}"',
                hint,
                code="J405",
            )

    # ------------------------------------------------------------ lead statuses

    def lead_status(self, status: str | None, span: Span) -> None:
        """A Lead Status value a journey sets or compares with."""
        known = self.schema.lead_statuses
        if known is None or status is None or not status or "{{" in status:
            return
        if _has(status, known) or not self._once("lead status", status):
            return
        near = closest(status, known)
        hint = f"did you mean `{near}`?" if near else _known("lead statuses", known)
        self.report(span, "error", f'unknown lead status "{status}"', hint, code="J406")

    # ------------------------------------------------------------ Salesforce fields

    def salesforce_field(self, name: str, span: Span) -> None:
        """``update salesforce field "F"``: F is a standard contact field, an API name or a
        label of the Lead's or Contact's fields, and one of them can write it."""
        described = self.schema.salesforce_fields
        if described is None or "{{" in name:
            return
        objects = [o for o in _CONTACT_OBJECTS if o in described]
        if not objects:
            return
        standard = standard_field(name)
        found = []
        for sobject in objects:
            api_name = standard.field_on(sobject) if standard else None
            if standard is not None and api_name is None:
                continue
            item = field_on(described[sobject], api_name or name)
            if item is not None:
                found.append((sobject, item))
        if any(item.writable for _, item in found):
            return
        if not self._once("salesforce field", name):
            return
        if found:
            where = " and ".join(f"{o}.{item.name}" for o, item in found)
            self.report(
                span,
                "error",
                f'Salesforce field "{name}" is read-only ({where})',
                "a formula or system field cannot be written: choose a writable field",
                code="J408",
            )
            return
        candidates = [f.name for o in objects for f in described[o]]
        candidates += [f.label for o in objects for f in described[o]]
        near = closest(name, candidates)
        hint = (
            f"did you mean `{near}`?"
            if near
            else "name the field by its API name (Plan_Tier__c) or its label"
        )
        self.report(
            span,
            "error",
            f'unknown Salesforce field "{name}": neither {" nor ".join(objects)} has it',
            hint,
            code="J407",
        )


def _known(what: str, names: Iterable[str]) -> str:
    shown = sorted(names)
    return f"known {what}: " + ", ".join(shown[:5]) if shown else f"the org has no {what}"


def salesforce_owned(statement: Statement, schema: Schema, report: Report) -> None:
    """A journey changing what only Salesforce changes: membership of the two Salesforce
    lists, or a field journey.toml maps inbound only."""
    if isinstance(statement, RemoveFromList) and is_salesforce_list(statement.list_name):
        report(
            statement.span,
            "error",
            f'"{statement.list_name}" is the contacts linked to a Salesforce record: '
            "a journey cannot remove anyone from it",
            "change the sync criteria or delete the record in Salesforce",
            code="J409",
        )
    elif isinstance(statement, UpdateField | UpdateSalesforceField):
        key = statement.field.casefold()
        if any(key == name.casefold() for name in schema.inbound_fields):
            report(
                statement.span,
                "error",
                f'"{statement.field}" is mapped inbound only: Salesforce computes or '
                "locks it, so a journey cannot write it",
                "read it in conditions; change it in Salesforce, or map a writable field",
                code="J410",
            )
