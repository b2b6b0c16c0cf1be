"""Inactive users at run time: the round robin skips them and says so, a group of only
inactive users fails the step clearly, and a journey naming an inactive user (``assign lead
to``, ``add task … assigned to``) fails the step with the user named and what to do —
before anything is written. The org holds records the tool did not create
(``tests/existing_org``) plus one deactivated user.

``User.IsActive`` ("Active") says who is active
(https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_User.htm);
an inactive owner is refused with ``INACTIVE_OWNER_OR_USER`` ("operation performed with
inactive user", https://help.salesforce.com/s/articleView?id=005237350&type=1): these
steps fail with that code before the org is asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from journey.connectors.salesforce.assignment import INACTIVE
from journey.dsl.syntax import AddTask, AssignLead, AssignLeadToGroup
from journey.emulator import EmulatedOrg
from tests.connectors.salesforce.conftest import Harness, build_connector, contact
from tests.existing_org import PEOPLE, existing_seed

OLD = "old@acme.example"
GONE = "gone@acme.example"
MIXED = "Mixed SDRs"
RETIRED = "Retired SDRs"


@pytest.fixture
def inactive_org() -> Iterator[EmulatedOrg]:
    seed = existing_seed()
    seed["User"] += [
        {"Name": "Old Timer", "Email": OLD, "IsActive": False},
        {"Name": "Gone Away", "Email": GONE, "IsActive": False},
    ]
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


@pytest.fixture
def on_org(inactive_org: EmulatedOrg, tmp_path: Path) -> Iterator[Harness]:
    connector, state = build_connector(inactive_org, tmp_path)
    connector.groups = {MIXED: [PEOPLE["ann"], OLD, PEOPLE["bob"]], RETIRED: [OLD, GONE]}
    yield Harness(inactive_org, inactive_org.client(), connector, state, tmp_path)
    connector.close()


def test_round_robin_skips_inactive_users_and_says_so(on_org: Harness) -> None:
    people = [contact(i, f"rr{i}@example.org") for i in range(6)]
    results = on_org.perform(AssignLeadToGroup(MIXED), people, group=MIXED)
    assert {r.status for r in results} == {"done"}
    assert Counter(r.changes.owner_email for r in results) == {
        PEOPLE["ann"]: 3,
        PEOPLE["bob"]: 3,
    }
    assert {r.why for r in results} == {f'skipped the inactive users of group "{MIXED}": {OLD}'}
    owners = {
        row["Owner"]["Email"]
        for row in on_org.query("SELECT Owner.Email FROM Lead WHERE Email LIKE 'rr%'")
    }
    assert owners == {PEOPLE["ann"], PEOPLE["bob"]}


def test_a_group_of_only_inactive_users_fails_the_step_naming_them(on_org: Harness) -> None:
    results = on_org.perform(
        AssignLeadToGroup(RETIRED), [contact(1, "nobody-owns@example.org")], group=RETIRED
    )
    [result] = results
    assert (result.status, result.error_code) == ("failed", INACTIVE)
    assert result.message == (
        f'every user of group "{RETIRED}" is inactive in Salesforce ({OLD}, {GONE}): '
        "reactivate one or change journey.toml [groups]"
    )
    assert on_org.query("SELECT Id FROM Lead WHERE Email = 'nobody-owns@example.org'") == []


@pytest.mark.parametrize("named", [OLD, "Old Timer"])
def test_assigning_to_an_inactive_user_fails_before_anything_is_written(
    on_org: Harness, named: str
) -> None:
    [result] = on_org.perform(AssignLead(named), [contact(1, "n@example.org")], user=named)
    assert (result.status, result.error_code) == ("failed", INACTIVE)
    assert result.message == (
        f'user "{named}" is inactive in Salesforce: reactivate them or change the journey'
    )
    assert on_org.query("SELECT Id FROM Lead WHERE Email = 'n@example.org'") == []


def test_an_existing_lead_keeps_its_owner_when_the_new_one_is_inactive(on_org: Harness) -> None:
    """The org's own Lead (Bob's) is not handed to an inactive user."""
    person = contact(1, PEOPLE["owned"])
    [result] = on_org.perform(AssignLead(OLD), [person], user=OLD)
    assert result.status == "failed"
    [row] = on_org.query(f"SELECT Owner.Email FROM Lead WHERE Email = '{PEOPLE['owned']}'")
    assert row["Owner"]["Email"] == PEOPLE["bob"]


def test_a_task_for_an_inactive_user_fails_naming_them(on_org: Harness) -> None:
    action = AddTask("Call", assigned_to=OLD)
    [result] = on_org.perform(action, [contact(1, PEOPLE["owned"])], subject="Call")
    assert (result.status, result.error_code) == ("failed", INACTIVE)
    assert f'user "{OLD}" is inactive in Salesforce' in str(result.message)
    assert on_org.query("SELECT Id FROM Task WHERE Subject = 'Call'") == []


def test_active_users_are_assigned_as_before(inactive_org: EmulatedOrg, tmp_path: Path) -> None:
    """The lookup's IsActive changes nothing for active users (the connector's life-long
    cache included): a second pass assigns without a new lookup failing."""
    connector, state = build_connector(inactive_org, tmp_path)
    harness = Harness(inactive_org, inactive_org.client(), connector, state, tmp_path)
    for i in range(2):
        [result] = harness.perform(
            AssignLead(PEOPLE["eva"]), [contact(i, f"eva{i}@example.org")], user=PEOPLE["eva"]
        )
        assert (result.status, result.why) == ("done", None)
    connector.close()
