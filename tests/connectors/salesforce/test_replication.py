"""The Salesforce side of the sync against the emulated org over HTTPS: criteria become
escaped SOQL (quotes, backslashes, LIKE wildcards), one composite call reads every
object's changes, deletions come from the recycle bin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.replication import SalesforceReplication, criteria_soql
from journey.connectors.salesforce.state import ConnectorState
from journey.connectors.sync import Criterion, ObjectRead, SyncPaused, SyncReadError
from journey.emulator import EmulatedOrg
from journey.engine.store import open_store

TRICKY = "O'Brien \\ Sons"  # a quote and a backslash


@pytest.fixture
def source(org: EmulatedOrg, tmp_path: Path) -> Iterator[SalesforceReplication]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url).close()
    state = ConnectorState(url)
    budget = ApiBudget(state, 0.5)
    served = org.endpoint
    client = connect(
        Endpoint(
            served.instance_url, served.version, session_id=org.session_id, ca_file=served.ca_file
        ),
        hooks=[budget.hook],
    )
    yield SalesforceReplication(OrgApi(client, budget), state)
    state.close()


def test_criteria_values_are_escaped() -> None:
    soql = criteria_soql(
        [
            Criterion("Company", "is", (TRICKY,)),
            Criterion("Status", "is not", ("Junk", "Closed")),
            Criterion("Title", "contains", ("50%_off",)),
            Criterion("AnnualRevenue", ">", (1000.0,)),
            Criterion("Email", "is not empty"),
        ]
    )
    assert soql == (
        "Company = 'O\\'Brien \\\\ Sons' AND (Status != 'Junk' AND Status != 'Closed') AND "
        "Title LIKE '%50\\%\\_off%' AND AnnualRevenue > 1000.0 AND Email != null"
    )


def test_a_field_name_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(SyncReadError, match="not a Salesforce field name"):
        criteria_soql([Criterion("Name = 'x' OR Id", "is", ("y",))])


def test_criteria_with_quotes_and_backslashes_select_the_right_records(
    org: EmulatedOrg, source: SalesforceReplication
) -> None:
    org.insert(
        "Lead",
        [
            {"LastName": "A", "Company": TRICKY},
            {"LastName": "B", "Company": "O'Brien"},
            {"LastName": "C", "Company": "Other", "Status": "Working - Contacted"},
        ],
    )
    read = ObjectRead(
        "Lead",
        ("LastName", "Company"),
        (Criterion("Company", "is", (TRICKY, "Other")),),
    )
    rows = next(iter(source.read_all(read, 3)))
    assert sorted(r["LastName"] for r in rows) == ["A", "C"]
    assert {r["Company"] for r in rows} == {TRICKY, "Other"}


def test_one_composite_call_reads_changes_deletions_and_leavers_of_every_object(
    org: EmulatedOrg, source: SalesforceReplication
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    doe = org.client().query("SELECT Id FROM Lead WHERE LastName = 'Doe'")["records"][0]["Id"]
    org.client().Lead.update(doe, {"Status": "Closed - Not Converted"})
    gone = org.client().Lead.create({"LastName": "Gone", "Company": "X"})["id"]
    org.client().Lead.delete(gone)
    before = org.api_calls
    changes = source.read_changes(
        [
            ObjectRead(
                "Lead",
                ("LastName", "Status"),
                (Criterion("Status", "is not", ("Closed - Not Converted",)),),
                since,
            ),
            ObjectRead("Contact", ("LastName",), (), since),
            ObjectRead("Account", ("Name",), (), since),
        ]
    )
    assert org.api_calls - before == 1
    assert changes["Lead"].records == []
    assert changes["Lead"].left_scope == [doe]
    assert changes["Lead"].deleted == [gone]
    assert [r["LastName"] for r in changes["Contact"].records] == ["Stone"]
    assert [r["Name"] for r in changes["Account"].records] == ["Globex"]


def test_an_expired_session_pauses_the_sync(
    org: EmulatedOrg, source: SalesforceReplication
) -> None:
    org.expire_session()
    with pytest.raises(SyncPaused) as caught:
        source.read_changes([ObjectRead("Lead", ("LastName",), (), datetime.now(UTC))])
    assert caught.value.code == "INVALID_SESSION_ID"
    with pytest.raises(SyncPaused):  # the pause is remembered: no call is made
        source.check()


def test_describe_marks_formula_fields_read_only(source: SalesforceReplication) -> None:
    fields = {f.name: f for f in source.describe("Lead")}
    assert fields["Score__c"].calculated
    assert not fields["Score__c"].writable
    assert fields["Plan_Tier__c"].writable
    assert not fields["IsConverted"].writable
