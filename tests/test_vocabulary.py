"""The Salesforce vocabulary is one truth: every layer reads it (the checker's schema, the
sync's mapping, the connector's new records, the engine's lists), it matches what an org's
``describe`` says, and it imports nothing else from ``journey`` so any layer may use it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from simple_salesforce.api import Salesforce

import journey.vocabulary as vocabulary
from journey.connectors.base import ContactSnapshot
from journey.connectors.salesforce.records import record_fields
from journey.dsl import compile_source
from journey.engine.actions import is_local
from journey.engine.config import STANDARD_FIELDS, ProjectConfig, SyncConfig
from journey.engine.journeys import schema_for
from journey.engine.sync.mapping import field_maps
from journey.vocabulary import (
    ACCOUNT_FIELDS,
    CONTACTS_LIST,
    LEADS_LIST,
    STANDARD_FIELD_TYPES,
    is_user_id,
    list_for,
    list_record_type,
    standard_field,
)

#: describe types that hold each engine type.
_DESCRIBE_TYPES = {
    "Text": {"string", "email", "phone", "picklist", "textarea", "url"},
    "Number": {"currency", "double", "int", "percent"},
    "True/False": {"boolean"},
    "Date": {"date", "datetime"},
}


def test_all_is_deliberate_and_nothing_else_from_journey_is_imported() -> None:
    exported = list(vocabulary.__all__)
    assert len(exported) == len(set(exported))
    assert [n for n in exported if not hasattr(vocabulary, n)] == []
    assert vocabulary.__doc__
    assert "Pipeline position" in vocabulary.__doc__
    tree = ast.parse(Path(vocabulary.__file__).read_text(encoding="utf-8"))
    imported = [
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    ] + [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    assert [m for m in imported if m.startswith("journey")] == []


def test_retry_module_imports_nothing_from_journey_either() -> None:
    module = importlib.import_module("journey.retry")
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [m for m in modules if m.startswith("journey")] == []


@pytest.mark.parametrize("sobject", ["Lead", "Contact"])
def test_every_standard_field_is_a_real_field_of_the_right_type(
    sf: Salesforce, sobject: str
) -> None:
    described = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
    accounts = {f["name"]: f for f in sf.Account.describe()["fields"]}
    for field in vocabulary.STANDARD_FIELDS:
        path = field.path(sobject)
        if path is None:
            continue
        if path.startswith("Account."):
            assert sobject == "Contact"
            entry = accounts[path.removeprefix("Account.")]
        else:
            entry = described[path]
        assert entry["type"] in _DESCRIBE_TYPES[field.kind], (field.name, path, entry["type"])


def test_the_checker_the_config_and_the_sync_know_the_same_fields() -> None:
    assert dict(STANDARD_FIELD_TYPES) == STANDARD_FIELDS
    schema = schema_for(ProjectConfig(found=True))
    assert schema.standard_fields == STANDARD_FIELD_TYPES
    assert schema.fields is not None
    assert set(STANDARD_FIELD_TYPES) <= set(schema.fields)
    for sobject in ("Lead", "Contact"):
        mapped = {m.contact_field: m.path for m in field_maps(sobject, SyncConfig(), {})}
        expected = {f.name: f.path(sobject) for f in vocabulary.STANDARD_FIELDS if f.path(sobject)}
        assert mapped == expected
    # Every field the sync can bring in is one a journey may name without declaring it.
    assert set(ACCOUNT_FIELDS.values()) <= set(STANDARD_FIELD_TYPES)


def test_a_journey_may_use_the_account_type_the_sync_brings_in() -> None:
    source = (
        'journey "J"\ntrigger form submitted "F"\n'
        'if field "Account Type" is "Partner":\n  wait 1 day\n'
    )
    journey, diagnostics = compile_source(source, schema=schema_for(ProjectConfig(found=True)))
    assert [d.message for d in diagnostics] == []
    assert journey is not None


def test_a_new_record_gets_only_the_fields_its_object_holds() -> None:
    values = dict.fromkeys(STANDARD_FIELD_TYPES, "x")
    values |= {"Annual Revenue": "1,200", "Unsubscribed": "yes", "Do Not Call": "no"}
    values |= {"Rating": "hot", "Lead Status": "Working"}
    person = ContactSnapshot(1, "ann@example.org", values)
    lead = record_fields(person, "Lead", "[not provided]")
    assert lead["AnnualRevenue"] == 1200.0
    assert (lead["HasOptedOutOfEmail"], lead["DoNotCall"], lead["Rating"]) == (True, False, "Hot")
    assert "Status" not in lead  # the org's default status applies
    contact = record_fields(person, "Contact", "[not provided]")
    assert "Company" not in contact
    assert "Industry" not in contact
    assert contact["MailingCity"] == "x"
    assert "City" not in contact
    assert set(contact) <= {
        f.contact for f in vocabulary.STANDARD_FIELDS if f.contact and "." not in f.contact
    }


def test_the_salesforce_lists_are_the_same_everywhere() -> None:
    from journey.dsl.syntax import AddToList

    assert list_record_type(" salesforce LEADS ") == "Lead"
    assert list_record_type(CONTACTS_LIST) == "Contact"
    assert list_record_type("Website Leads") is None
    assert (list_for("Lead"), list_for("Contact")) == (LEADS_LIST, CONTACTS_LIST)
    assert not is_local(AddToList("Salesforce Contacts"))
    assert is_local(AddToList("Website Leads"))


def test_names_and_ids() -> None:
    status = standard_field("  lead status ")
    assert status is not None
    assert status.field_on("Lead") == "Status"
    assert status.field_on("Contact") is None
    company = standard_field("Company")
    assert company is not None
    assert company.field_on("Contact") is None
    assert standard_field("Plan Tier") is None
    assert is_user_id("005000000000001AAA")
    assert is_user_id("005000000000001")
    assert not is_user_id("00Q000000000001AAA")
    assert not is_user_id("005 Bob Smith  x")
