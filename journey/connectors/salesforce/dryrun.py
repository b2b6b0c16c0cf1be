"""The dry-run connector for a configured org: the recorder, fed with the org's real state.

Pipeline position: dry run → **ReadingRecorder.perform** → (reads from the org) →
``RecordingConnector``. The recorder alone assumes what the contact snapshot says: a
contact without a Salesforce ID "would get a Lead created". Against a real org that is
often wrong — the person may already be a Lead or Contact there, with an owner that
``keep current assignment`` would keep. So before the recorder decides, this connector
looks the contacts up (by record ID, else by Email; batched, read-only queries) and hands
the recorder snapshots that say what the org says. It never writes to Salesforce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from journey.connectors.base import EffectRequest, EffectResult
from journey.connectors.recording import RecordingConnector
from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.errors import SalesforceProblem
from journey.dsl.syntax import Action, AddToList
from journey.vocabulary import RECORD_TYPES, RecordType, list_record_type

__all__ = ["ReadingRecorder"]


class ReadingRecorder(RecordingConnector):
    name = "recording (reading the org)"

    def __init__(self, api: OrgApi, groups: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(groups)
        self.api = api
        self.read_failures = 0

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        # The record the real run would take for an email: for "Salesforce Contacts" a
        # Contact; for every other action an unconverted Lead, else a Contact.
        wanted = isinstance(action, AddToList) and list_record_type(action.list_name)
        objects: tuple[RecordType, ...] = (
            ("Contact",) if wanted == "Contact" else ("Lead", "Contact")
        )
        try:
            requests = self._as_the_org_says(requests, objects)
        except SalesforceProblem:
            # Reading is a courtesy: without it the dry run is the plain recorder's.
            self.read_failures += 1
        return super().perform(action, requests)

    def _as_the_org_says(
        self, requests: Sequence[EffectRequest], objects: Sequence[RecordType]
    ) -> list[EffectRequest]:
        """The requests' contacts as the org has them: by record ID, else by email — the
        first of ``objects`` that holds one, its oldest record (as ``records`` links)."""
        by_email: dict[str, tuple[str, RecordType, Mapping[str, Any]]] = {}
        by_id: dict[str, Mapping[str, Any]] = {}
        emails = [
            r.contact.email for r in requests if r.contact.email and not r.contact.salesforce_id
        ]
        ids = {"Lead": [], "Contact": []}  # type: dict[str, list[str]]
        for r in requests:
            if r.contact.salesforce_id:
                ids[r.contact.salesforce_type or "Lead"].append(r.contact.salesforce_id)
        for kind in RECORD_TYPES:
            select = f"SELECT Id, Email, OwnerId, Owner.Email FROM {kind}"
            if kind == "Lead":
                select += " WHERE IsConverted = false AND"
            else:
                select += " WHERE"
            if emails and kind in objects:
                query = select + " Email IN {values} ORDER BY CreatedDate"
                for found in self.api.query_in(query, emails):
                    by_email.setdefault(
                        str(found["Email"]).casefold(), (str(found["Id"]), kind, found)
                    )
            if ids[kind]:
                for found in self.api.query_in(select + " Id IN {values}", ids[kind]):
                    by_id[str(found["Id"])[:15]] = found
        out = []
        for r in requests:
            c = r.contact
            row: Mapping[str, Any] | None = None
            if c.salesforce_id:
                row = by_id.get(c.salesforce_id[:15])
            elif c.email and c.email.casefold() in by_email:
                record_id, kind, row = by_email[c.email.casefold()]
                c = replace(c, salesforce_id=record_id, salesforce_type=kind)
            if row is not None:
                owner = row.get("Owner") or {}
                c = replace(c, owner_id=row.get("OwnerId"), owner_email=owner.get("Email"))
            out.append(EffectRequest(r.key, c, r.params))
        return out
