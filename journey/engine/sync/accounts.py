"""Accounts: companies in the store, and the Account fields their Contacts show.

Pipeline position: the cycle reads Accounts first -> **accounts** -> store (companies) and
``engine.contacts.write_contacts`` for the Account's Contacts. A Contact's Company,
Industry, Annual Revenue and Account Type are its Account's fields (the vocabulary's
``ACCOUNT_FIELDS``), as is any custom mapping through the Account (``Account.Region__c``,
``mapping.account_fields``): a change to one reaches every synced Contact of the Account
in the same cycle, as a ``field changed`` like any other. In an org with Person Accounts
enabled, a Person Account is a company too; its email stays on its person Contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.connectors.sync import Record
from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.store import Company
from journey.engine.sync.inbound import Taken
from journey.engine.sync.mapping import from_salesforce
from journey.engine.sync.records import Linked, load_records, save_records
from journey.vocabulary import ACCOUNT_FIELDS, STANDARD_FIELD_TYPES

__all__ = ["take_accounts"]

#: Account field -> (contact field, its type): the standard fields an Account's Contacts show.
_STANDARD: dict[str, tuple[str, str]] = {
    api: (name, STANDARD_FIELD_TYPES.get(name, "Text")) for api, name in ACCOUNT_FIELDS.items()
}


def take_accounts(
    conn: Connection,
    records: Sequence[Record],
    ctx: ContactContext,
    shown: Mapping[str, tuple[str, str]] | None = None,
) -> Taken:
    """Accounts become companies (a Person Account too: its email stays on its contact);
    a change to a field its Contacts show (``shown``: Account field -> (contact field,
    type); the standard ones by default) reaches the Account's contacts."""
    fields = dict(shown if shown is not None else _STANDARD)
    fields.setdefault("Name", ("Company", "Text"))
    taken = Taken()
    if not records:
        return taken
    co = Company
    links = {r.salesforce_id: r for r in load_records(conn, ids=[str(x["Id"]) for x in records])}
    saved: list[Linked] = []
    changed_accounts: dict[str, dict[str, str]] = {}
    for record in records:
        record_id = str(record["Id"])
        values = {k: from_salesforce(record.get(k), kind) for k, (_, kind) in fields.items()}
        name = values["Name"]
        if name:
            key = name.casefold()
            if conn.execute(sa.select(co.c.id).where(co.c.name_key == key)).first() is None:
                conn.execute(sa.insert(co).values(name=name, name_key=key))
        old = links.get(record_id)
        if old is None or old.shadow != values:
            taken.changed += 1
            if old is not None:
                changed_accounts[record_id] = values
        saved.append(
            Linked(
                record_id,
                "Account",
                None,
                record_id,
                values,
                str(record.get("SystemModstamp") or ""),
            )
        )
    save_records(conn, saved)
    if changed_accounts:
        people = load_records(conn, account_ids=list(changed_accounts))
        people = [p for p in people if p.object == "Contact" and p.contact_id is not None]
        views = load_views(conn, [p.contact_id for p in people if p.contact_id is not None])
        befores = {cid: snapshot(v) for cid, v in views.items()}
        for person in people:
            assert person.contact_id is not None
            view = views.get(person.contact_id)
            if view is None or person.account_id is None:
                continue
            values = changed_accounts[person.account_id]
            shadow = dict(person.shadow or {})
            for api_name, (contact_field, _) in fields.items():
                view.set(contact_field, values[api_name])
                shadow[f"Account.{api_name}"] = values[api_name]
            person.shadow = shadow
        write_contacts(conn, [(befores[cid], v) for cid, v in views.items()], ctx)
        save_records(conn, people)
    return taken
