"""Salesforce vocabulary: the facts about an org's standard objects that every layer uses,
written once.

Pipeline position: below everything — the language's checker (through the schema the engine
builds), the engine (contacts, actions, sync) and the connectors all read these facts; this
module imports nothing else from ``journey``, so any layer may import it without breaking the
one-way flow dsl → engine → connectors.

What lives here:

* the standard contact fields, each with its type and the Lead and Contact field it is
  (``STANDARD_FIELDS``): the checker knows them without a declaration, the sync maps them,
  the connector copies them onto records it creates and resolves ``update salesforce field
  "Lead Status"`` through them;
* the two lists whose membership is a Salesforce record (``LEADS_LIST``, ``CONTACTS_LIST``);
* the owner (``OWNER_FIELD``, ``OWNER_PATHS``) and how a User ID looks (``is_user_id``);
* the placeholder written into a required field the contact has no value for.

Sources (Salesforce Field Reference and Object Reference for the Salesforce Platform):

* Lead fields — https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html
  (``LastName`` and ``Company`` required; ``Status`` is the field labelled "Lead Status";
  ``Street``/``City``/``State``/``PostalCode``/``Country`` the address; ``HasOptedOutOfEmail``
  is "Email Opt Out"; ``AnnualRevenue`` a currency);
* Contact fields — https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-contact.html
  (no ``Company``, ``Status``, ``Rating`` or ``Industry``: a Contact's company is its
  Account, reached through ``AccountId``, so those are ``Account.*`` relationship paths,
  readable but not writable on the Contact; the address is ``Mailing*``);
* ``OwnerId`` references a User, whose IDs carry the key prefix ``005`` — Object Reference,
  "ID Field Type" and "User";
* a record ID's first three characters name its object: ``00Q`` a Lead, ``003`` a Contact —
  https://help.salesforce.com/s/articleView?id=000385203 ("Salesforce record ID key prefix");
* a converted Lead stays a Lead with ``IsConverted`` true and ``ConvertedContactId`` naming
  the Contact it became — Lead field reference above, and "convertLead()" in the SOAP API
  Developer Guide (https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_convertlead.htm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACCOUNT_FIELDS",
    "AUTO_ASSIGN_HEADER",
    "CONTACTS_LIST",
    "LEADS_LIST",
    "NOT_PROVIDED",
    "OWNER_FIELD",
    "OWNER_PATHS",
    "RECORD_ID_PREFIXES",
    "RECORD_TYPES",
    "SALESFORCE_LISTS",
    "STANDARD_FIELDS",
    "STANDARD_FIELD_TYPES",
    "USER_ID_PREFIX",
    "FieldType",
    "RecordType",
    "StandardField",
    "is_salesforce_list",
    "is_user_id",
    "list_for",
    "list_record_type",
    "record_type_of",
    "standard_field",
]

#: The two objects a contact can be in Salesforce.
RecordType = Literal["Lead", "Contact"]
RECORD_TYPES: tuple[RecordType, ...] = ("Lead", "Contact")

#: How the engine types a contact field (``[fields]`` in ``journey.toml`` uses the same names).
FieldType = Literal["Text", "Number", "Date", "True/False"]

#: The lists whose membership *is* a Salesforce record: "Salesforce Leads" holds exactly the
#: contacts linked to an unconverted Lead, "Salesforce Contacts" those linked to a Contact
#: (``engine.salesforce_lists`` derives both from the link). Adding a contact that has no
#: record creates one; nothing else adds or removes a member.
LEADS_LIST = "Salesforce Leads"
CONTACTS_LIST = "Salesforce Contacts"
#: Casefolded list name → the object its members are.
SALESFORCE_LISTS: Mapping[str, RecordType] = {
    LEADS_LIST.casefold(): "Lead",
    CONTACTS_LIST.casefold(): "Contact",
}

#: The contact field whose value is the record's owner (matched by name, email or User ID).
OWNER_FIELD = "Lead Owner"
#: What a read selects to know the owner: ``OwnerId`` and the User's name and email.
OWNER_PATHS = ("OwnerId", "Owner.Name", "Owner.Email")
#: Key prefix of User IDs (``OwnerId`` may also hold a Queue, prefix ``00G``).
USER_ID_PREFIX = "005"
#: Key prefix of each record type's IDs (the help article in the module docstring).
RECORD_ID_PREFIXES: Mapping[str, RecordType] = {"00Q": "Lead", "003": "Contact"}

#: The REST header that turns the org's assignment rules on or off for one write.
AUTO_ASSIGN_HEADER = "Sforce-Auto-Assign"

#: Written into a required field (``LastName``, ``Company``) the contact has no value for.
NOT_PROVIDED = "[not provided]"


@dataclass(frozen=True)
class StandardField:
    """One standard contact field. ``lead``/``contact``: its API path on each object
    (``None``: the object has no such field); a path with a dot (``Account.Name``) is a
    relationship — read, never written. ``on_create``: copied onto a record the connector
    creates (Lead Status is left to the org's default status)."""

    name: str
    kind: FieldType
    lead: str | None
    contact: str | None
    on_create: bool = True

    def path(self, record_type: str) -> str | None:
        """The field's API path on ``record_type`` (``None`` when it has none)."""
        if record_type == "Lead":
            return self.lead
        return self.contact if record_type == "Contact" else None

    def field_on(self, record_type: str) -> str | None:
        """The field ``record_type`` itself holds (a relationship path is not one)."""
        path = self.path(record_type)
        return path if path and "." not in path else None


#: Every standard contact field, in the order they are shown.
STANDARD_FIELDS: tuple[StandardField, ...] = (
    StandardField("Email", "Text", "Email", "Email"),
    StandardField("First Name", "Text", "FirstName", "FirstName"),
    StandardField("Last Name", "Text", "LastName", "LastName"),
    StandardField("Company", "Text", "Company", "Account.Name"),
    StandardField("Title", "Text", "Title", "Title"),
    StandardField("Phone", "Text", "Phone", "Phone"),
    StandardField("Lead Source", "Text", "LeadSource", "LeadSource"),
    StandardField("Lead Status", "Text", "Status", None, on_create=False),
    # The owner is OwnerId plus the User's name and email (OWNER_PATHS), not one field.
    StandardField(OWNER_FIELD, "Text", None, None, on_create=False),
    StandardField("Rating", "Text", "Rating", None),
    StandardField("Annual Revenue", "Number", "AnnualRevenue", "Account.AnnualRevenue"),
    StandardField("Industry", "Text", "Industry", "Account.Industry"),
    StandardField("Account Type", "Text", None, "Account.Type"),
    StandardField("Country", "Text", "Country", "MailingCountry"),
    StandardField("City", "Text", "City", "MailingCity"),
    StandardField("State", "Text", "State", "MailingState"),
    StandardField("Postal Code", "Text", "PostalCode", "MailingPostalCode"),
    StandardField("Street", "Text", "Street", "MailingStreet"),
    StandardField("Unsubscribed", "True/False", "HasOptedOutOfEmail", "HasOptedOutOfEmail"),
    StandardField("Do Not Call", "True/False", "DoNotCall", "DoNotCall"),
    StandardField("Description", "Text", "Description", "Description"),
)

#: Contact field → its type: what every project knows without declaring it.
STANDARD_FIELD_TYPES: Mapping[str, FieldType] = {f.name: f.kind for f in STANDARD_FIELDS}

#: Account field → the contact field it shows as on the Account's Contacts.
ACCOUNT_FIELDS: Mapping[str, str] = {
    f.contact.removeprefix("Account."): f.name
    for f in STANDARD_FIELDS
    if f.contact and f.contact.startswith("Account.")
}

_BY_KEY = {f.name.casefold(): f for f in STANDARD_FIELDS}


def standard_field(name: str) -> StandardField | None:
    """The standard field named ``name`` in any case (``"lead status"``), else ``None``."""
    return _BY_KEY.get(name.strip().casefold())


def list_record_type(name: str) -> RecordType | None:
    """The object a Salesforce list's members are, ``None`` for an ordinary list."""
    return SALESFORCE_LISTS.get(name.strip().casefold())


def is_salesforce_list(name: str) -> bool:
    """Adding to this list means a Salesforce record (a connector action)."""
    return list_record_type(name) is not None


def list_for(record_type: RecordType) -> str:
    """The list a synced record of ``record_type`` is kept in."""
    return LEADS_LIST if record_type == "Lead" else CONTACTS_LIST


def record_type_of(
    salesforce_id: str | None, salesforce_type: str | None = None
) -> RecordType | None:
    """The object a contact's linked record is: its stated type, else its ID's key prefix;
    ``None`` when the contact has no record (or one of another object)."""
    if not salesforce_id:
        return None
    if salesforce_type in RECORD_TYPES:
        return "Lead" if salesforce_type == "Lead" else "Contact"
    return RECORD_ID_PREFIXES.get(salesforce_id[:3])


def is_user_id(text: str) -> bool:
    """A Salesforce User ID: 15 or 18 letters and digits starting with ``005``."""
    if len(text) not in (15, 18) or not text.startswith(USER_ID_PREFIX):
        return False
    return text.isascii() and text.isalnum()
