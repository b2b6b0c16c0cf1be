"""``create opportunity``: a Lead is converted as Salesforce converts it; a Contact gets an
Opportunity on its Account.

Pipeline position: connector → **conversion** → records / batching (SOAP convertLead).

For Leads: the converted status is the org's LeadStatus marked ``IsConverted``, by its
API name. A Lead is never merged into an existing Contact (no ``contactId`` is sent, so
none needs the ``accountId`` Salesforce requires with it). An existing Account whose Name
equals the Lead's Company is reused (several Leads of one new company in a batch: the
first conversion creates the Account, the rest join it) — so no duplicate Account; the
opportunity then gets the journey's stage (default "Prospecting"), close date (``close
in``, default 30 days) and amount. The contact afterwards refers to the new Contact
(``salesforce_type = "Contact"``) and keeps its place in every journey. A Lead already
converted (e.g. by a call whose answer a crash lost) is not converted again: its
conversion is read back and taken as the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from journey.connectors.base import RecordChange
from journey.connectors.salesforce.records import Item, Workspace, ensure_records
from journey.connectors.salesforce.state import Link
from journey.dsl.syntax import CreateOpportunity

__all__ = ["create_opportunities"]

DEFAULT_STAGE = "Prospecting"
DEFAULT_CLOSE_DAYS = 30


def _opportunity_fields(ws: Workspace, item: Item) -> dict[str, Any]:
    p = item.params
    close = p.get("close_date") or (ws.now + timedelta(days=DEFAULT_CLOSE_DAYS)).date().isoformat()
    values: dict[str, Any] = {
        "StageName": str(p.get("stage") or DEFAULT_STAGE),
        "CloseDate": str(close),
    }
    if p.get("amount") not in (None, ""):
        values["Amount"] = float(str(p["amount"]))
    return values


def _converted_status(ws: Workspace) -> str | None:
    """The first converted LeadStatus by its API name: the value ``convertLead`` takes and
    a converted Lead's ``Status`` holds, which stays put when an admin renames the label
    (``ApiName``, API 36.0 and later)."""
    if "converted_status" not in ws.cache:
        rows = ws.api.query(
            "SELECT ApiName FROM LeadStatus WHERE IsConverted = true ORDER BY SortOrder"
        )
        ws.cache["converted_status"] = str(rows[0]["ApiName"]) if rows else None
    status: str | None = ws.cache["converted_status"]
    return status


def create_opportunities(ws: Workspace, action: CreateOpportunity, items: Sequence[Item]) -> None:
    ensure_records(ws, items)
    leads = [i for i in items if i.live and i.record_type == "Lead"]
    contacts = [i for i in items if i.live and i.record_type == "Contact"]
    if leads:
        _convert(ws, action, leads)
    if contacts:
        _on_accounts(ws, action, contacts)


def _convert(ws: Workspace, action: CreateOpportunity, items: Sequence[Item]) -> None:
    status = _converted_status(ws)
    if status is None:
        for item in items:
            item.finish(
                "failed",
                code="NO_CONVERTED_STATUS",
                message="the org has no Lead Status marked converted",
            )
        return
    rows = ws.api.query_in(
        "SELECT Id, Company, OwnerId, IsConverted, ConvertedAccountId, ConvertedContactId, "
        "ConvertedOpportunityId FROM Lead WHERE Id IN {values}",
        [str(i.record_id) for i in items],
    )
    leads = {str(r["Id"])[:15]: r for r in rows}
    # The placeholder company names no real company: such Leads get an Account each.
    placeholder = ws.default_company.casefold()
    companies = sorted(
        {
            str(r.get("Company") or "")
            for r in rows
            if not r.get("IsConverted") and str(r.get("Company") or "").casefold() != placeholder
        }
    )
    accounts: dict[str, str] = {}
    if companies:
        for row in ws.api.query_in(
            "SELECT Id, Name FROM Account WHERE Name IN {values}", companies
        ):
            accounts.setdefault(str(row["Name"]).casefold(), str(row["Id"]))
    first_round: list[Item] = []
    later: list[Item] = []
    seen: set[str] = set()
    for item in items:
        lead = leads.get(str(item.record_id)[:15])
        if lead is None:
            item.finish(
                "failed", code="NOT_FOUND", message=f"Lead {item.record_id} is not in the org"
            )
        elif lead.get("IsConverted"):
            _take(
                item,
                status,
                lead["ConvertedAccountId"],
                lead["ConvertedContactId"],
                lead.get("ConvertedOpportunityId"),
                new_account=False,
            )
        else:
            company = str(lead.get("Company") or "").casefold()
            if company == placeholder:
                first_round.append(item)
                continue
            (later if company in seen and company not in accounts else first_round).append(item)
            seen.add(company)
    opportunities: list[tuple[Item, str]] = []
    for round_items in (first_round, later):
        converts = []
        for item in round_items:
            company = str(leads[str(item.record_id)[:15]].get("Company") or "").casefold()
            converts.append(
                {
                    "leadId": item.record_id,
                    "convertedStatus": status,
                    "accountId": accounts.get(company),
                    "opportunityName": str(item.params.get("name") or action.name),
                }
            )
        for item, convert, result in zip(
            round_items, converts, ws.api.convert(converts), strict=True
        ):
            if result.code is not None:
                item.finish(
                    "retry" if result.transient else "failed",
                    code=result.code,
                    message=f"converting Lead {item.record_id}: {result.code}: {result.message}",
                )
                continue
            company = str(leads[str(item.record_id)[:15]].get("Company") or "").casefold()
            new_account = convert["accountId"] is None
            if new_account and result.account_id and company != placeholder:
                accounts[company] = result.account_id
            _take(
                item,
                status,
                result.account_id,
                result.contact_id,
                result.opportunity_id,
                new_account=new_account,
            )
            if result.opportunity_id:
                opportunities.append((item, result.opportunity_id))
    ws.state.save_links(
        {
            i.contact.id: Link(str(i.record_id), "Contact")
            for i in items
            if i.record_type == "Contact"
        },
        ws.now,
    )
    if opportunities:
        payloads = [{"Id": opp, **_opportunity_fields(ws, item)} for item, opp in opportunities]
        for (item, opp), payload, outcome in zip(
            opportunities, payloads, ws.api.update("Opportunity", payloads, {}), strict=True
        ):
            shown = {k: str(v) for k, v in payload.items() if k != "Id"}
            shown["Name"] = str(item.params.get("name") or action.name)
            item.records.append(RecordChange("Opportunity", opp, "create", shown))
            if not outcome.ok:
                item.fail(outcome, f"Opportunity {opp}")
    for item in items:
        item.finish("done")


def _take(
    item: Item,
    status: str,
    account_id: str | None,
    contact_id: str | None,
    opportunity_id: str | None,
    *,
    new_account: bool,
) -> None:
    lead_id = str(item.record_id)
    item.records.append(
        RecordChange(
            "Lead",
            lead_id,
            "convert",
            {
                "Status": status,
                "ConvertedAccountId": str(account_id),
                "ConvertedContactId": str(contact_id),
                "ConvertedOpportunityId": str(opportunity_id or ""),
            },
        )
    )
    if new_account and account_id:
        item.records.append(RecordChange("Account", account_id, "create", {}))
    if contact_id:
        item.records.append(
            RecordChange("Contact", contact_id, "create", {"AccountId": str(account_id)})
        )
        item.record_id, item.record_type, item.new_link = contact_id, "Contact", True
    item.fields["Lead Status"] = status


def _on_accounts(ws: Workspace, action: CreateOpportunity, items: Sequence[Item]) -> None:
    rows = ws.api.query_in(
        "SELECT Id, AccountId FROM Contact WHERE Id IN {values}", [str(i.record_id) for i in items]
    )
    account_of = {str(r["Id"])[:15]: r.get("AccountId") for r in rows}
    payloads = []
    for item in items:
        payload: dict[str, Any] = {"Name": str(item.params.get("name") or action.name)}
        payload.update(_opportunity_fields(ws, item))
        account = account_of.get(str(item.record_id)[:15])
        if account:
            payload["AccountId"] = account
        payloads.append(payload)
    for item, payload, outcome in zip(
        items, payloads, ws.api.create("Opportunity", payloads, {}), strict=True
    ):
        if outcome.ok:
            shown = {k: str(v) for k, v in payload.items()}
            item.records.append(RecordChange("Opportunity", str(outcome.id), "create", shown))
            item.finish("done")
        else:
            item.fail(outcome, f"creating an Opportunity for Contact {item.record_id}")
