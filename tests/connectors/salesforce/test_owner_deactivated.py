"""A user deactivated after the connector looked them up: the org itself refuses them as
owner with ``INACTIVE_OWNER_OR_USER`` ("operation performed with inactive user",
https://help.salesforce.com/s/articleView?id=005237350&type=1; the code is one of the
API's StatusCodes,
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm),
and the contact's step fails in the same words as when the lookup finds them inactive —
the user named, what to do — with Salesforce's own answer kept. The next step looks the
user up afresh and fails before writing. The org holds records the tool did not create
(``tests.existing_org``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from journey.connectors.base import EffectResult
from journey.connectors.salesforce.assignment import INACTIVE
from journey.dsl.syntax import AssignLead
from journey.emulator import EmulatedOrg
from tests.connectors.salesforce.conftest import Harness, build_connector, contact
from tests.existing_org import PEOPLE, existing_seed

BOB = PEOPLE["bob"]
WORDS = f'user "{BOB}" is inactive in Salesforce: reactivate them or change the journey'


@pytest.fixture
def on_org(tmp_path: Path) -> Iterator[Harness]:
    with EmulatedOrg(seed=existing_seed()) as org:
        org.start()
        connector, state = build_connector(org, tmp_path)
        yield Harness(org, org.client(), connector, state, tmp_path)
        connector.close()


def _assign(on_org: Harness, cid: int, email: str) -> EffectResult:
    [result] = on_org.perform(AssignLead(BOB), [contact(cid, email)], user=BOB)
    return result


def test_an_owner_deactivated_after_the_lookup_fails_the_step_in_plain_words(
    on_org: Harness,
) -> None:
    first = _assign(on_org, 1, "before@new.example")
    assert first.status == "done"  # Bob was looked up, active

    on_org.org.deactivate_user(BOB)  # an admin deactivates Bob in Setup
    second = _assign(on_org, 2, "after@new.example")
    assert (second.status, second.error_code) == ("failed", INACTIVE)
    message = str(second.message)
    assert message.startswith(WORDS)
    assert "operation performed with inactive user" in message  # Salesforce's own answer
    assert on_org.query("SELECT Id FROM Lead WHERE Email = 'after@new.example'") == []

    calls = on_org.org.api_calls
    third = _assign(on_org, 3, "later@new.example")
    assert (third.status, third.error_code) == ("failed", INACTIVE)
    assert str(third.message) == WORDS  # found inactive by a fresh lookup
    assert on_org.org.api_calls - calls <= 2  # lookups only: nothing was sent to create
    assert on_org.query("SELECT Id FROM Lead WHERE Email = 'later@new.example'") == []
