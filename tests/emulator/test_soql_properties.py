"""Properties of the SOQL subset: any text gets an answer (rows or a 400), never a crash
or a 500; generated filters agree with a plain Python reading of the same condition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey.emulator import EmulatedOrg
from journey.emulator import soql as soql_module
from journey.emulator.protocol import Request
from journey.emulator.soql import SoqlError, parse_query

WORDS = [
    "SELECT",
    "Id",
    "Name",
    ",",
    "FROM",
    "Lead",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "IN",
    "NULL",
    "TRUE",
    "'x'",
    "'%a%'",
    "42",
    "3.5",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "ORDER",
    "BY",
    "DESC",
    "NULLS",
    "LAST",
    "LIMIT",
    "OFFSET",
    "COUNT()",
    "GROUP",
    "Owner.Name",
    "AnnualRevenue",
    "TODAY",
    "'",
    ":x",
    "SUM(Id)",
    "CreatedDate",
    "Email",
    "(SELECT",
    "Contacts",
    "LeadId",
    "CampaignMember",
    "IsConverted",
    "Owner.Type",
    "FIRST",
    "THIS_MONTH",
    "LAST_N_MONTHS:2",
    "N_DAYS_AGO:3",
    "THIS_FISCAL_YEAR",
    "TYPEOF Owner",
    "WHEN User THEN",
    "ELSE",
    "END",
]


@pytest.fixture(scope="module")
def org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg() as emulated:
        yield emulated


def ask(org: EmulatedOrg, soql: str) -> tuple[int, Any]:
    """The request path the HTTPS server takes (session, allocation, routing), minus TLS."""
    response = org.app.dispatch(
        Request(
            "GET",
            "/services/data/v59.0/query",
            {"q": soql},
            {"authorization": f"Bearer {org.session_id}"},
        )
    )
    return response.status, response.data()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join) | st.text(max_size=60))
def test_any_text_is_answered_never_crashed(org: EmulatedOrg, soql: str) -> None:
    code = "parsed"
    try:
        parse_query(soql)
    except SoqlError as error:
        code = error.code
    assert code in ("parsed", "MALFORMED_QUERY")
    status, body = ask(org, soql)
    assert status in (200, 400), body
    if status == 400:
        assert body[0]["errorCode"] in {
            "MALFORMED_QUERY",
            "INVALID_FIELD",
            "INVALID_TYPE",
            "INVALID_QUERY_FILTER_OPERATOR",
            "NUMBER_OUTSIDE_VALID_RANGE",
        }


LITERALS = ["'a@x.example'", "'it\\'s'", "'IN ('", "'%a\\_b%'", "''", "'\\n'", "'0'"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS + LITERALS * 3), max_size=16).map(" ".join)
    | st.text(alphabet="SELECT IdFROMLeadWHEREmal=IN(),'\\ab", max_size=60)
)
def test_a_query_parsed_from_its_cached_shape_is_the_query_as_written(soql: str) -> None:
    # parse_query reuses the parse of a query with the same shape and other literals; it
    # must give exactly what parsing the text itself gives, refusals included.
    try:
        expected: object = soql_module._parse(soql)
    except SoqlError as error:
        expected = ("refused", error.message)
    for _ in range(2):  # the second time from the cache
        try:
            got: object = parse_query(soql)
        except SoqlError as error:
            got = ("refused", error.message)
        assert got == expected


def test_queries_of_one_shape_keep_their_own_literals() -> None:
    emails = [f"c{i}@x.example" for i in range(3)]
    first, second = (
        parse_query(f"SELECT Id FROM Lead WHERE Email IN ('{a}', '{b}') AND Name = 'n\\'{a}'")
        for a, b in (emails[:2], emails[1:])
    )
    email, name = (soql_module.FieldPath((f,)) for f in ("Email", "Name"))
    strings = [soql_module.Literal("string", text) for text in (*emails, f"n'{emails[0]}")]
    assert first.where == soql_module.And(
        (
            soql_module.Comparison(email, "IN", (strings[0], strings[1])),
            soql_module.Comparison(name, "=", strings[3]),
        )
    )
    assert isinstance(second.where, soql_module.And)
    assert second.where.parts[0] == soql_module.Comparison(email, "IN", (strings[1], strings[2]))


REVENUES = [None, 0, 10, 10, 250, 999.5, 1000, 5000]


@pytest.fixture(scope="module")
def revenue_org() -> Iterator[EmulatedOrg]:
    with EmulatedOrg() as emulated:
        emulated.insert(
            "Lead",
            (
                {
                    "LastName": f"R{i}",
                    "Company": "C",
                    "AnnualRevenue": r,
                    "Rating": ["Hot", None, "Cold"][i % 3],
                }
                for i, r in enumerate(REVENUES)
            ),
        )
        yield emulated


OPERATORS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    op=st.sampled_from(sorted(OPERATORS)),
    value=st.sampled_from([0, 10, 250, 999.5, 1000, 7]),
    negate=st.booleans(),
    rating=st.sampled_from(["Hot", "Cold", "Warm"]),
    join=st.sampled_from(["AND", "OR"]),
)
def test_filters_agree_with_python(
    revenue_org: EmulatedOrg, op: str, value: float, negate: bool, rating: str, join: str
) -> None:
    condition = f"AnnualRevenue {op} {value}"
    if negate:
        condition = f"NOT ({condition})"
    condition = f"({condition}) {join} Rating = '{rating}'"
    status, body = ask(revenue_org, f"SELECT LastName FROM Lead WHERE {condition}")
    assert status == 200
    expected = set()
    for i, revenue in enumerate(REVENUES):
        # SOQL: of the comparisons, only != matches a blank
        hit = op == "!=" if revenue is None else OPERATORS[op](revenue, value)
        hit = (not hit) if negate else hit
        same_rating = ["Hot", None, "Cold"][i % 3] == rating
        if (hit and same_rating) if join == "AND" else (hit or same_rating):
            expected.add(f"R{i}")
    assert {r["LastName"] for r in body["records"]} == expected


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    descending=st.booleans(),
    nulls=st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]),
    then=st.sampled_from(["LastName", "LastName DESC"]),
)
def test_order_agrees_with_python(
    revenue_org: EmulatedOrg, descending: bool, nulls: str, then: str
) -> None:
    """ORDER BY: nulls first unless NULLS LAST, whichever the direction (ORDER BY,
    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm)."""
    direction = " DESC" if descending else ""
    order = f"AnnualRevenue{direction}{nulls}, {then}"
    status, body = ask(revenue_org, f"SELECT LastName FROM Lead ORDER BY {order}")
    assert status == 200
    rows = [(f"R{i}", r) for i, r in enumerate(REVENUES)]
    rows.sort(key=lambda row: row[0], reverse=then.endswith("DESC"))
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: r[1], reverse=descending)
    blank = [r for r in rows if r[1] is None]
    expected = present + blank if nulls == " NULLS LAST" else blank + present
    assert [r["LastName"] for r in body["records"]] == [name for name, _ in expected]
