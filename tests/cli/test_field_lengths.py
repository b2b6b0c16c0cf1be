"""A contact whose value is longer than the Salesforce field holds: the org refuses it
(STRING_TOO_LONG, "For API version 15.0 and later, if a value is too large, the operation
fails", https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_allowfieldtruncation.htm),
and the run reports it for that contact, naming the field — the tool never cuts a
person's data to fit. The other contacts of the batch go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import actions_support as sup

LEADS_JOURNEY = """journey "Leads"

trigger added to list "L"

add to list "Salesforce Leads"
update salesforce field "Title" to "Buyer"
"""


def test_a_value_past_the_field_length_fails_that_contact_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sup.make_project(tmp_path, {"leads": LEADS_JOURNEY})
    monkeypatch.chdir(root)
    long_company = "Very Long Company " * 15  # 270 characters; Lead.Company holds 255
    sup.import_contacts(
        root,
        [
            {"Email": "long@big.example", "Last Name": "Long", "Company": long_company},
            {"Email": "city@big.example", "Last Name": "City", "City": "C" * 41},
            {"Email": "fits@big.example", "Last Name": "Fits", "Company": "Fits Ltd"},
        ],
    )
    outcome = sup.run(code=1)  # some contacts failed
    assert outcome["failed"] == 2
    [(state, detail)] = sup.feed("long@big.example")
    assert state == "failed"
    assert "STRING_TOO_LONG" in detail
    assert "Company: data value too large" in detail
    assert "(max length=255)" in detail
    [(state, detail)] = sup.feed("city@big.example")  # the contact's City goes on the Lead
    assert state == "failed"
    assert "STRING_TOO_LONG: City: data value too large: " + "C" * 41 in detail
    assert "(max length=40)" in detail
    assert [s for s, _ in sup.feed("fits@big.example")] == ["done", "done"]
    leads = sup.query(root, "SELECT LastName, Company FROM Lead")
    assert leads == [{"LastName": "Fits", "Company": "Fits Ltd"}]  # nothing cut to fit
