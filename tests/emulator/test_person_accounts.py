"""Person Accounts exist only where the org enabled them, as in Salesforce.

Sources: "Person Account Record Types" in the SOAP API guide
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm):
a person account is an Account whose record type is a person account record type
(``IsPersonAccount`` true), Salesforce provides the default ``PersonAccount`` record type,
and creating one creates its person contact, whose ID is in ``PersonContactId``. The
Account field reference lists ``IsPersonAccount``, ``FirstName``, ``LastName`` and the
``Person…`` fields
(https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-account.html);
the RecordType field reference ``IsPersonType`` and ``SobjectType``
(https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-recordtype.html).
Orgs have Person Accounts off until an administrator enables them, so a default org has
none of those fields: describe does not list them, SOQL naming one is ``INVALID_FIELD``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from journey.emulator import EmulatedOrg
from tests.emulated_org import SEED

_PERSON_FIELDS = {
    "IsPersonAccount",
    "PersonEmail",
    "PersonContactId",
    "PersonMobilePhone",
    "PersonHasOptedOutOfEmail",
    "FirstName",
    "LastName",
}


def _error(excinfo: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> dict[str, Any]:
    content: Any = excinfo.value.content
    return dict(content[0])


@pytest.fixture
def person_org() -> Iterator[EmulatedOrg]:
    seed = copy.deepcopy(SEED)
    seed["PersonAccounts"] = True
    seed["fields"]["Contact"] = [{"name": "Loyalty__c", "type": "string"}]
    with EmulatedOrg(seed=seed) as emulated:
        emulated.start()
        yield emulated


def test_a_default_org_has_no_person_account_fields(sf: Salesforce) -> None:
    account = {f["name"] for f in sf.Account.describe()["fields"]}
    contact = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert not account & _PERSON_FIELDS
    assert "RecordTypeId" not in account
    assert "IsPersonAccount" not in contact
    for soql in (
        "SELECT Id, IsPersonAccount FROM Account",
        "SELECT Id, PersonEmail FROM Account",
        "SELECT Id, IsPersonAccount FROM Contact",
    ):
        with pytest.raises(SalesforceMalformedRequest) as excinfo:
            sf.query(soql)
        assert _error(excinfo)["errorCode"] == "INVALID_FIELD"


def test_a_default_org_refuses_person_fields_and_needs_a_name(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"LastName": "Lee", "PersonEmail": "pat@home.example"})
    assert _error(excinfo)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"Industry": "Energy"})
    assert _error(excinfo)["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert _error(excinfo)["fields"] == ["Name"]


def test_an_enabled_org_has_the_person_account_record_type(person_org: EmulatedOrg) -> None:
    sf = person_org.client()
    types = sf.query(
        "SELECT Id, DeveloperName, IsPersonType FROM RecordType "
        "WHERE SobjectType = 'Account' AND IsPersonType = true"
    )["records"]
    assert [t["DeveloperName"] for t in types] == ["PersonAccount"]
    account = {f["name"] for f in sf.Account.describe()["fields"]}
    assert _PERSON_FIELDS | {"RecordTypeId", "Loyalty__pc"} <= account


def _person_type(sf: Salesforce) -> str:
    found = sf.query("SELECT Id FROM RecordType WHERE DeveloperName = 'PersonAccount'")
    return str(found["records"][0]["Id"])


def test_a_person_account_has_a_person_contact_kept_in_step(person_org: EmulatedOrg) -> None:
    sf = person_org.client()
    account_id = sf.Account.create(
        {
            "RecordTypeId": _person_type(sf),
            "FirstName": "Pat",
            "LastName": "Lee",
            "PersonEmail": "pat@home.example",
            "Loyalty__pc": "Gold",
        }
    )["id"]
    account = sf.Account.get(account_id)
    assert account["IsPersonAccount"] is True
    assert account["Name"] == "Pat Lee"
    contact = sf.Contact.get(account["PersonContactId"])
    assert (contact["Email"], contact["AccountId"], contact["IsPersonAccount"]) == (
        "pat@home.example",
        account_id,
        True,
    )
    assert contact["Loyalty__c"] == "Gold"
    sf.Account.update(account_id, {"PersonEmail": "pat@work.example"})
    assert sf.Contact.get(account["PersonContactId"])["Email"] == "pat@work.example"


def test_without_the_person_record_type_an_account_is_a_business_account(
    person_org: EmulatedOrg,
) -> None:
    sf = person_org.client()
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"FirstName": "Pat", "LastName": "Lee"})
    assert _error(excinfo)["fields"] == ["Name"]
    business = sf.Account.get(sf.Account.create({"Name": "Initech"})["id"])
    assert business["IsPersonAccount"] is False
    assert business["PersonContactId"] is None
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"RecordTypeId": _person_type(sf), "FirstName": "Pat"})
    assert _error(excinfo) | {"message": ""} == {
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName"],
        "message": "",
    }
