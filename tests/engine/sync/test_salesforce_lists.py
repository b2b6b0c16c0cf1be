"""The Salesforce lists are the record type: "Salesforce Leads" holds exactly the contacts
linked to an unconverted Lead, "Salesforce Contacts" those linked to a Contact — after the
sync's first read of an org full of existing records, a link an action writes, a
conversion, a deletion, ``mode = "none"``, and a store migrated from an earlier release.
``request_records`` (adding someone without a record to the list) goes through a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from journey.engine import migrations
from journey.engine.config import SyncConfig
from journey.engine.contact import ContactView
from journey.engine.contacts import load_views, new_contacts, snapshot, write_contacts
from journey.engine.salesforce_lists import request_records
from journey.engine.store import Activity, Contact, Membership, Run, open_store
from journey.vocabulary import CONTACTS_LIST, LEADS_LIST
from tests.engine.engine_helpers import T0, LinkingJournal, context, make_runner
from tests.engine.sync.world import SyncWorld
from tests.existing_org import PEOPLE, existing_seed

SALESFORCE = {LEADS_LIST, CONTACTS_LIST}


def _world(factory: Callable[..., SyncWorld], sync: dict[str, object] | None = None) -> SyncWorld:
    return factory(sync=sync, seed=existing_seed())


def _everyone(world: SyncWorld) -> dict[int, ContactView]:
    with world.store.begin() as conn:
        return load_views(conn, world.contact_ids())


def _salesforce_lists(view: ContactView) -> set[str]:
    return set(view.lists.values()) & SALESFORCE


def _expected(view: ContactView) -> set[str]:
    if view.salesforce_type == "Lead":
        return {LEADS_LIST}
    return {CONTACTS_LIST} if view.salesforce_type == "Contact" else set()


def _by_email(world: SyncWorld, email: str) -> list[ContactView]:
    return [v for v in _everyone(world).values() if (v.email or "").casefold() == email]


def test_after_the_first_sync_every_contact_is_in_its_record_types_list(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    assert world.cycle().stopped is None
    views = _everyone(world)
    assert views
    for view in views.values():
        assert _salesforce_lists(view) == _expected(view), view
    # The Lead converted before the tool met the org is its Contact, in one list only.
    (converted,) = _by_email(world, PEOPLE["converted"])
    assert _salesforce_lists(converted) == {CONTACTS_LIST}
    # Duplicate emails stay separate records, each in its own list.
    dups = _by_email(world, PEOPLE["dup"])
    assert sorted(_salesforce_lists(v).pop() for v in dups) == [
        CONTACTS_LIST,
        LEADS_LIST,
        LEADS_LIST,
    ]


def test_a_link_written_by_an_action_sets_the_list_in_the_same_write(
    world_factory: Callable[..., SyncWorld],
) -> None:
    """What the runner writes when a connector's ContactChanges carry a record: a Contact
    is never put in "Salesforce Leads", whatever the view's lists said."""
    world = _world(world_factory)
    ctx = world.context()
    with world.store.begin() as conn:
        lead_id, contact_id, by_prefix = new_contacts(conn, 3, ctx.now)
        views = load_views(conn, [lead_id, contact_id, by_prefix])
        befores = {cid: snapshot(v) for cid, v in views.items()}
        views[lead_id].salesforce_id, views[lead_id].salesforce_type = "00Q000000000001AAA", "Lead"
        views[contact_id].salesforce_id = "003000000000001AAA"
        views[contact_id].salesforce_type = "Contact"
        # An action's "added" as the executor records it for `add to list "Salesforce Leads"`.
        views[contact_id].lists[LEADS_LIST.casefold()] = LEADS_LIST
        views[by_prefix].salesforce_id = "003000000000002AAA"  # no type: the key prefix says
        write_contacts(conn, [(befores[c], v) for c, v in views.items()], ctx)
    after = _everyone(world)
    assert _salesforce_lists(after[lead_id]) == {LEADS_LIST}
    assert _salesforce_lists(after[contact_id]) == {CONTACTS_LIST}
    assert _salesforce_lists(after[by_prefix]) == {CONTACTS_LIST}
    added = {(cid, name) for kind, cid, name, _ in world.events("added_to_list")}
    assert added == {
        (lead_id, LEADS_LIST),
        (contact_id, CONTACTS_LIST),
        (by_prefix, CONTACTS_LIST),
    }


def test_a_conversion_moves_the_contact_between_the_lists_in_one_write(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    world.cycle()
    (owned,) = _by_email(world, PEOPLE["owned"])
    assert owned.salesforce_id is not None
    world.clear_events()
    answer = world.source.api.convert(
        [
            {
                "leadId": owned.salesforce_id,
                "convertedStatus": "Closed - Converted",
                "doNotCreateOpportunity": "true",
            }
        ]
    )[0]
    assert answer.contact_id is not None
    world.cycle()
    moved = world.contact(answer.contact_id)
    assert moved.id == owned.id
    assert _salesforce_lists(moved) == {CONTACTS_LIST}
    assert world.events("added_to_list") == [("added_to_list", owned.id, CONTACTS_LIST, None)]
    for view in _everyone(world).values():
        assert _salesforce_lists(view) == _expected(view), view


def test_a_record_deleted_in_salesforce_leaves_its_list(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    world.cycle()
    (qualified,) = _by_email(world, PEOPLE["qualified"])
    assert qualified.salesforce_id is not None
    with world.store.begin() as conn:  # a run keeps the contact in the store
        conn.execute(
            sa.insert(Run).values(
                contact_id=qualified.id,
                journey="Nurture",
                journey_key="nurture",
                version="v1",
                step_id="s1",
                status="waiting",
                next_due=world.now,
                entered_at=world.now,
            )
        )
    world.sf.Lead.delete(qualified.salesforce_id)
    world.cycle()
    (left,) = load_views_of(world, [qualified.id]).values()
    assert left.salesforce_id is None
    assert _salesforce_lists(left) == set()


def load_views_of(world: SyncWorld, ids: list[int]) -> dict[int, ContactView]:
    with world.store.begin() as conn:
        return load_views(conn, ids)


def test_mode_none_empties_the_list_and_syncing_again_brings_it_back(
    world_factory: Callable[..., SyncWorld],
) -> None:
    world = _world(world_factory)
    world.cycle()
    contacts = [v.id for v in _everyone(world).values() if v.salesforce_type == "Contact"]
    assert contacts
    world.config = world.config.model_copy(
        update={"sync": SyncConfig.model_validate({"Contact": {"mode": "none"}})}
    )
    world.clear_events()
    world.cycle()
    views = _everyone(world)
    assert all(CONTACTS_LIST not in _salesforce_lists(v) for v in views.values())
    assert all(views[c].salesforce_type == "Contact" for c in contacts)  # links stay
    assert any(_salesforce_lists(v) == {LEADS_LIST} for v in views.values())
    # A write while the object is not synced keeps the contact out of the list.
    (sam,) = _by_email(world, PEOPLE["contact"])
    world.edit(str(sam.salesforce_id), Title="CTO")
    assert _salesforce_lists(world.contact(str(sam.salesforce_id))) == set()
    world.config = world.config.model_copy(update={"sync": SyncConfig()})
    world.cycle()
    for view in _everyone(world).values():
        assert _salesforce_lists(view) == _expected(view), view
    assert not [e for e in world.events("added_to_list") if e[2] == CONTACTS_LIST]


def test_the_migration_recomputes_the_memberships_of_an_existing_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004_drop_schema_version")
    c, lst, m = (
        Contact,
        sa.table("lists", sa.column("id"), sa.column("name"), sa.column("name_key")),
        Membership,
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(lst),
            [
                {"id": 1, "name": LEADS_LIST, "name_key": LEADS_LIST.casefold()},
                {"id": 2, "name": CONTACTS_LIST, "name_key": CONTACTS_LIST.casefold()},
            ],
        )
        people = [
            ("00Q000000000001AAA", "Lead", [1]),  # right
            ("003000000000001AAA", "Contact", [1, 2]),  # a converted Lead in both lists
            ("003000000000002AAA", None, [1]),  # a Contact (by prefix) in the Leads list
            ("00Q000000000002AAA", "Lead", []),  # a linked Lead in no list
            (None, None, [1]),  # unlinked
        ]
        for i, (sid, kind, lists) in enumerate(people, start=1):
            conn.execute(
                sa.insert(c).values(
                    id=i, salesforce_id=sid, salesforce_type=kind, created_at=T0, updated_at=T0
                )
            )
            for list_id in lists:
                conn.execute(sa.insert(m).values(list_id=list_id, contact_id=i, added_at=T0))
    engine.dispose()
    store = open_store(url)
    try:
        assert store.revision() == migrations.head()
        with store.begin() as conn:
            views = load_views(conn, [1, 2, 3, 4, 5])
    finally:
        store.close()
    assert [_salesforce_lists(views[i]) for i in range(1, 6)] == [
        {LEADS_LIST},
        {CONTACTS_LIST},
        {CONTACTS_LIST},
        {LEADS_LIST},
        set(),
    ]


def test_request_records_creates_the_lead_through_a_run(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        runner, _catalog, connector = make_runner(store, connector=LinkingJournal())
        ctx = context()
        with store.begin() as conn:
            fresh, linked = new_contacts(conn, 2, T0)
            views = load_views(conn, [fresh, linked])
            befores = {cid: snapshot(v) for cid, v in views.items()}
            views[fresh].email = "new@prospect.example"
            views[fresh].lists[LEADS_LIST.casefold()] = LEADS_LIST  # an import's --list
            views[linked].email = "known@prospect.example"
            views[linked].salesforce_id, views[linked].salesforce_type = (
                "003000000000009AAA",
                "Contact",
            )
            write_contacts(conn, [(befores[c], v) for c, v in views.items()], ctx)
            assert not load_views(conn, [fresh])[fresh].in_list(LEADS_LIST)
            asked = request_records(conn, [fresh, linked], "Lead", T0)
            assert request_records(conn, [fresh], "Lead", T0) == []  # one live run at a time
        assert asked == [fresh]
        report = runner.run_until_idle(T0)
        assert report.failed == 0
        with store.begin() as conn:
            after = load_views(conn, [fresh, linked])
            feed = list(
                conn.execute(
                    sa.select(Activity.c.detail).where(Activity.c.contact_id == fresh)
                ).scalars()
            )
        assert after[fresh].salesforce_type == "Lead"
        assert _salesforce_lists(after[fresh]) == {LEADS_LIST}
        assert _salesforce_lists(after[linked]) == {CONTACTS_LIST}
        assert any("without a Salesforce record" in line for line in feed)
        assert len(connector.applications()) == 1
    finally:
        store.close()
