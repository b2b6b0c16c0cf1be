"""The "Salesforce Leads" / "Salesforce Contacts" memberships recomputed from the links.

The two lists hold exactly the contacts linked to a Lead, and to a Contact
(``engine.salesforce_lists``). A store written before that rule may hold a Contact in
"Salesforce Leads", a converted Lead in both lists, or a linked contact in neither: this
revision puts every membership where the contact's link says. A contact's type is its
``salesforce_type``, else its ID's key prefix (``00Q`` Lead, ``003`` Contact). A membership
added here takes the contact's ``updated_at``, the last time its link could have changed.
No event is queued: the contacts were already these records' people. Downgrading leaves
the memberships as they are (the earlier code reads them the same way).

Revision ID: 0006_salesforce_lists_from_links
Revises: 0004_drop_schema_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_salesforce_lists_from_links"
down_revision: str | None = "0004_drop_schema_version"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here: the names and prefixes as this revision knows them.
_LISTS = (("Salesforce Leads", "Lead", "00Q"), ("Salesforce Contacts", "Contact", "003"))

_contacts = sa.table(
    "contacts",
    sa.column("id", sa.Integer()),
    sa.column("salesforce_id", sa.String()),
    sa.column("salesforce_type", sa.String()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_lists = sa.table(
    "lists",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("name_key", sa.String()),
)
_members = sa.table(
    "memberships",
    sa.column("list_id", sa.Integer()),
    sa.column("contact_id", sa.Integer()),
    sa.column("added_at", sa.DateTime(timezone=True)),
)


def _list_id(conn: sa.Connection, name: str) -> int | None:
    key = name.casefold()
    found = conn.execute(sa.select(_lists.c.id).where(_lists.c.name_key == key)).scalar()
    return None if found is None else int(found)


def upgrade() -> None:
    conn = op.get_bind()
    c = _contacts.c
    for name, kind, prefix in _LISTS:
        linked = sa.select(c.id).where(
            c.salesforce_id.is_not(None),
            sa.or_(
                c.salesforce_type == kind,
                sa.and_(
                    c.salesforce_type.is_(None), sa.func.substr(c.salesforce_id, 1, 3) == prefix
                ),
            ),
        )
        list_id = _list_id(conn, name)
        if list_id is None:
            if conn.execute(linked.limit(1)).first() is None:
                continue  # no list and nobody to put in it
            conn.execute(sa.insert(_lists).values(name=name, name_key=name.casefold()))
            list_id = _list_id(conn, name)
        conn.execute(
            sa.delete(_members).where(
                _members.c.list_id == list_id, _members.c.contact_id.not_in(linked)
            )
        )
        members = sa.select(_members.c.contact_id).where(_members.c.list_id == list_id)
        conn.execute(
            sa.insert(_members).from_select(
                ["list_id", "contact_id", "added_at"],
                sa.select(sa.literal(list_id), c.id, c.updated_at).where(
                    c.id.in_(linked), c.id.not_in(members)
                ),
            )
        )


def downgrade() -> None:
    """The memberships stay: the previous revision's schema is the same."""
