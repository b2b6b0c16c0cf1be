"""Nulls in SOQL as Salesforce documents them: a checkbox is never null, nulls sort first
in either direction unless NULLS LAST, and COUNT() takes no ORDER BY. Over HTTPS with
simple-salesforce, against an org full of records the tool did not create."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE


def emails(org: EmulatedOrg, soql: str) -> list[str | None]:
    found: dict[str, Any] = org.client().query(soql)
    return [r["Email"] for r in found["records"]]


def test_a_checkbox_compared_with_null_is_compared_with_false(existing_org: EmulatedOrg) -> None:
    """ "If you run a query on a boolean field, null matches FALSE values … WHERE Test_c !=
    null is equivalent to WHERE Test_c = true" (Use null in WHERE,
    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_null.htm)."""
    converted = emails(existing_org, "SELECT Email FROM Lead WHERE IsConverted != null")
    assert converted == [PEOPLE["converted"]]
    unconverted = emails(existing_org, "SELECT Email FROM Lead WHERE IsConverted = null")
    assert len(unconverted) == 6
    assert PEOPLE["converted"] not in unconverted
    assert unconverted == emails(existing_org, "SELECT Email FROM Lead WHERE IsConverted = false")
    both = "SELECT Email FROM Lead WHERE IsConverted IN (null, true)"
    assert len(emails(existing_org, both)) == 7


def test_a_text_field_compared_with_null_still_means_blank(existing_org: EmulatedOrg) -> None:
    assert emails(existing_org, "SELECT Email FROM Lead WHERE Email = null") == [None]


ORDER_BY = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/"
    "sforce_api_calls_soql_select_orderby.htm"
)


@pytest.mark.parametrize(
    ("order", "blank_first"),
    [
        ("Country", True),
        ("Country ASC", True),
        ("Country DESC", True),
        ("Country ASC NULLS FIRST", True),
        ("Country DESC NULLS FIRST", True),
        ("Country ASC NULLS LAST", False),
        ("Country DESC NULLS LAST", False),
    ],
)
def test_nulls_sort_first_unless_nulls_last(
    existing_org: EmulatedOrg, order: str, blank_first: bool
) -> None:
    """ORDER BY: "By default, null values are sorted first", for ASC and DESC alike
    (see ``ORDER_BY``). Only the Queued Lead has a Country (Germany)."""
    sf = existing_org.client()
    rows = sf.query(f"SELECT Email, Country FROM Lead ORDER BY {order}, Email")["records"]
    countries = [r["Country"] for r in rows]
    assert countries == ([None] * 6 + ["Germany"] if blank_first else ["Germany"] + [None] * 6)


def test_descending_order_keeps_nulls_first_across_relationships(existing_org: EmulatedOrg) -> None:
    """ORDER BY on a parent field: the record whose parent is missing is a null (see
    ``ORDER_BY``: "the record is returned even if the foreign key value in a record is
    null"), so it comes first in DESC too."""
    sf = existing_org.client()
    sf.Contact.create({"LastName": "Orphan"})
    rows = sf.query("SELECT LastName FROM Contact ORDER BY Account.Name DESC, LastName")
    assert [r["LastName"] for r in rows["records"]] == [
        "Orphan",
        "Homeworker",  # the person account "Pat Homeworker"
        "Converted",  # Initech
        "Duplicate",  # Globex
        "Stone",
    ]


def test_count_with_order_by_is_refused(existing_org: EmulatedOrg) -> None:
    """ "You can't use COUNT() with an ORDER BY clause" (COUNT() and COUNT(fieldName),
    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm)."""
    sf = existing_org.client()
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT COUNT() FROM Lead ORDER BY LastName")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert "ORDER BY" in refused.value.content[0]["message"]
    assert sf.query("SELECT COUNT() FROM Lead LIMIT 3")["totalSize"] == 3
