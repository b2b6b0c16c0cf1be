"""Removal: records deleted in Salesforce, or no longer in the sync's scope.

Pipeline position: the cycle's deleted (recycle bin) and out-of-criteria reads ->
**removal** -> store. A contact keeps what journeys made of it: with runs it stays, with
its feed, only unlinked and out of the Salesforce lists; without runs it is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journey.engine.contacts import ContactContext, load_views, snapshot, write_contacts
from journey.engine.store import (
    Activity,
    CampaignStatus,
    Contact,
    Event,
    FieldValue,
    Membership,
    Run,
    SegmentMember,
    SyncError,
    SyncPending,
)
from journey.engine.sync.inbound import Taken
from journey.engine.sync.records import Linked, forget_records, load_records, save_records

__all__ = ["remove_records"]


def remove_records(
    conn: Connection, ids: Sequence[str], ctx: ContactContext, *, why: str, keep: bool = False
) -> Taken:
    """Records deleted in Salesforce (or no longer meeting their criteria): out of the
    store and out of the Salesforce lists (they follow the link). A contact that
    has journey runs keeps them (and its feed) but loses its link; one without runs is
    deleted. ``keep``: the record stays as it is and is simply no longer synced."""
    taken = Taken()
    links = load_records(conn, ids=ids)
    if keep:
        for link in links:
            link.synced = False
        save_records(conn, links)
        return taken
    cs = CampaignStatus
    people: dict[int, Linked] = {}
    for link in links:
        if link.object == "CampaignMember" and link.contact_id is not None:
            campaign = (link.shadow or {}).get("Campaign.Name", "")
            conn.execute(
                sa.delete(cs).where(
                    cs.c.contact_id == link.contact_id, cs.c.campaign_key == campaign.casefold()
                )
            )
        elif link.object in ("Lead", "Contact") and link.contact_id is not None:
            people[link.contact_id] = link
    forget_records(conn, [link.salesforce_id for link in links])
    taken.removed = len(links)
    if not people:
        return taken
    views = load_views(conn, list(people))
    runs = Run
    with_runs = set(
        conn.execute(
            sa.select(runs.c.contact_id).where(runs.c.contact_id.in_(list(views))).distinct()
        ).scalars()
    )
    befores = {cid: snapshot(v) for cid, v in views.items()}
    detached = []
    for cid, view in views.items():
        if view.salesforce_id and view.salesforce_id[:15] != people[cid].salesforce_id[:15]:
            continue  # the contact moved on (a converted Lead): nothing to remove
        if cid not in with_runs:
            _delete_contact(conn, cid)
            continue
        view.salesforce_id = view.salesforce_type = None  # out of the Salesforce lists too
        detached.append((befores[cid], view))
        conn.execute(
            sa.insert(Activity).values(
                contact_id=cid,
                kind="sync",
                outcome="removed",
                detail=f"{people[cid].object} {people[cid].salesforce_id} {why}; removed from "
                "the Salesforce lists (the contact keeps its journeys)",
                data=None,
                at=ctx.now,
            )
        )
    write_contacts(conn, detached, ctx)
    return taken


def _delete_contact(conn: Connection, contact_id: int) -> None:
    for t in (
        FieldValue,
        Membership,
        SegmentMember,
        CampaignStatus,
        Event,
        Activity,
        SyncPending,
        SyncError,
    ):
        conn.execute(sa.delete(t).where(t.c.contact_id == contact_id))
    c = Contact
    conn.execute(sa.delete(c).where(c.c.id == contact_id))
