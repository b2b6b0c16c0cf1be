"""The objects and fields of the emulated org, and their ``describe`` form.

Pipeline position: the single source of truth the store, the SOQL evaluator, the write
path and ``describe`` all read, so a field that exists for one exists for all. Standard
objects carry the fields integrations commonly touch; the seed adds custom (``__c``) and
formula fields. Names are matched case-insensitively, as Salesforce matches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from journey.emulator.field_reference import CHILD_RELATIONSHIPS, LABELS, LENGTHS
from journey.emulator.ids import KEY_PREFIXES

__all__ = [
    "FIELD_TYPES",
    "FieldDef",
    "ObjectDef",
    "Schema",
    "SchemaError",
    "standard_schema",
]

#: Field types the emulated org knows, as ``describe`` spells them.
FIELD_TYPES = frozenset(
    {
        "id",
        "reference",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "boolean",
        "double",
        "currency",
        "percent",
        "int",
        "date",
        "datetime",
    }
)
TEXT_TYPES = frozenset(
    {"id", "reference", "string", "textarea", "email", "phone", "url", "picklist"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


class SchemaError(ValueError):
    """A seed declares a field or object the emulated org cannot hold."""


@dataclass(frozen=True)
class FieldDef:
    """One field. ``required`` means required on create (not nillable to the API)."""

    name: str
    type: str
    createable: bool = True
    updateable: bool = True
    required: bool = False
    custom: bool = False
    formula: str | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    label: str = ""
    length: int = 0
    #: A custom field with the External ID attribute (the seed's ``"externalId": true``).
    external_id: bool = False
    #: A standard field with the idLookup property (``Id``, and e.g. Contact ``Email``).
    id_lookup: bool = False

    @property
    def calculated(self) -> bool:
        return self.formula is not None

    @property
    def max_length(self) -> int:
        """The most characters the field holds, as ``describe`` reports it: the field
        reference's length, else the type's (an ID 18, other text 255), 0 for non-text."""
        if self.length:
            return self.length
        if self.type in ("id", "reference"):
            return 18
        return 255 if self.type in TEXT_TYPES else 0

    @property
    def display_label(self) -> str:
        return self.label or _label(self.name)

    @property
    def upsert_key(self) -> bool:
        """Usable to match records in an upsert: "available for objects if the object has an
        external ID field or a field with the idLookup field property"
        (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_upsert.htm)."""
        return self.external_id or self.id_lookup

    def describe(self) -> dict[str, Any]:
        """The field as ``sobjects/X/describe`` reports it."""
        return {
            "name": self.name,
            "label": self.display_label,
            "type": self.type,
            "createable": self.createable and not self.calculated,
            "updateable": self.updateable and not self.calculated,
            "calculated": self.calculated,
            "calculatedFormula": self.formula,
            "nillable": not self.required
            and self.type != "boolean"
            and self.name not in _NOT_NILLABLE,
            "custom": self.custom,
            "defaultedOnCreate": self.type == "boolean" or self.name in _DEFAULTED,
            "filterable": True,
            "sortable": self.type != "textarea",
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "value": v, "validFor": None}
                for v in self.picklist_values
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "length": self.max_length,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "externalId": self.external_id,
            # External ID fields are idLookup too: describe marks every field an upsert
            # can match on ("Can be used to specify a record in an upsert call").
            "idLookup": self.upsert_key,
        }


@dataclass
class ObjectDef:
    """One object: its fields keyed by lower-case name, and what the API may do with it."""

    name: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    createable: bool = True
    queryable: bool = True

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name.lower()] = definition

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Owner`` → OwnerId)."""
        lowered = name.lower()
        for definition in self.fields.values():
            if definition.relationship_name and definition.relationship_name.lower() == lowered:
                return definition
        return None

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            **self.summary(version),
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {
                    "childSObject": child,
                    "field": field,
                    "relationshipName": name,
                    "cascadeDelete": False,
                    "restrictedDelete": False,
                    "deprecatedAndHidden": False,
                }
                for name, (child, field) in CHILD_RELATIONSHIPS.get(self.name, {}).items()
            ],
            "recordTypeInfos": [],
            "urls": _urls(base),
        }

    def summary(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": _label(self.name),
            "labelPlural": _label(self.name) + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "queryable": self.queryable,
            "retrieveable": True,
            "searchable": self.queryable,
            "layoutable": self.createable,
            "urls": _urls(base),
        }


class Schema:
    """All objects of the org, looked up case-insensitively."""

    def __init__(self, objects: Iterable[ObjectDef]) -> None:
        self._objects = {o.name.lower(): o for o in objects}

    def get(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def objects(self) -> list[ObjectDef]:
        return list(self._objects.values())

    def add_custom_fields(self, declared: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """Add the seed's custom and formula fields (``{"Lead": [{"name", "type", ...}]}``)."""
        for object_name, fields in declared.items():
            sobject = self.get(object_name)
            if sobject is None:
                raise SchemaError(f"seed 'fields': unknown object {object_name!r}")
            for spec in fields:
                sobject.add(_custom_field(sobject.name, spec))
                account = self.get("Account")
                assert account is not None
                if sobject.name == "Contact" and account.field("IsPersonAccount"):
                    # person accounts show contact fields as __pc
                    pc = _custom_field("Account", spec)
                    account.add(FieldDef(**{**pc.__dict__, "name": pc.name[:-3] + "__pc"}))


def _custom_field(object_name: str, spec: Mapping[str, Any]) -> FieldDef:
    name = str(spec.get("name", ""))
    if not name.endswith("__c") or not name[:-3].replace("_", "").isalnum():
        raise SchemaError(f"seed field {object_name}.{name!r}: custom field names end in __c")
    kind = str(spec.get("type", "string"))
    if kind not in FIELD_TYPES - {"id"}:
        raise SchemaError(f"seed field {object_name}.{name}: unknown type {kind!r}")
    reference_to = tuple(str(r) for r in spec.get("referenceTo", ()))
    if kind == "reference" and not reference_to:
        raise SchemaError(f"seed field {object_name}.{name}: a reference needs 'referenceTo'")
    formula = spec.get("formula")
    return FieldDef(
        name=name,
        type=kind,
        custom=True,
        required=bool(spec.get("required", False)),
        formula=str(formula) if formula is not None else None,
        createable=formula is None,
        updateable=formula is None,
        reference_to=reference_to,
        relationship_name=name[:-3] + "__r" if kind == "reference" else None,
        picklist_values=tuple(str(v) for v in spec.get("values", ())),
        label=str(spec.get("label", "")),
        length=_custom_length(object_name, name, kind, spec.get("length")),
        external_id=_external_id(object_name, name, kind, spec),
    )


def _custom_length(object_name: str, name: str, kind: str, given: Any) -> int:
    """A custom text field's ``length`` (a Text field holds at most 255, a long text area
    131,072; unset: 255, the type's default)."""
    if given is None:
        return 0
    most = 131072 if kind == "textarea" else 255
    if kind not in TEXT_TYPES or isinstance(given, bool) or not isinstance(given, int):
        raise SchemaError(f"seed field {object_name}.{name}: 'length' is a number, for text")
    if not 1 <= given <= most:
        raise SchemaError(f"seed field {object_name}.{name}: 'length' is 1 to {most}")
    return given


#: Field types that may carry the External ID attribute ("External ID fields must be
#: custom text, number, or email fields", Workato's Salesforce guide,
#: https://docs.workato.com/connectors/salesforce/actions/upsert-record.html; Salesforce's
#: own setup page was not found).
_EXTERNAL_ID_TYPES = frozenset({"string", "email", "double", "int"})


def _external_id(object_name: str, name: str, kind: str, spec: Mapping[str, Any]) -> bool:
    flag = spec.get("externalId", False)
    if not isinstance(flag, bool):
        raise SchemaError(f"seed field {object_name}.{name}: 'externalId' is true or false")
    if flag and (kind not in _EXTERNAL_ID_TYPES or spec.get("formula") is not None):
        raise SchemaError(
            f"seed field {object_name}.{name}: an external ID is a text, email or number field"
        )
    return flag


_DEFAULTED = frozenset(
    {
        "OwnerId",
        "Status",
        "Priority",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "Name",
    }
)
_NOT_NILLABLE = frozenset(
    {
        "Id",
        "OwnerId",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    }
)
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _urls(base: str) -> dict[str, str]:
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") if name != "Id" else "ID"
    out = ""
    for i, char in enumerate(base.replace("_", " ")):
        if char.isupper() and i and base[i - 1].islower():
            out += " "
        out += char
    return out.strip() or name


# A compact field table: "Name:type:flags[:target,target]". Flags: r required on create,
# o read-only (system-set), c createable but not updateable.
_STANDARD: dict[str, str] = {
    "User": """FirstName:string LastName:string:r Name:string:o Email:email:r Username:string
        Alias:string IsActive:boolean Title:string""",
    "Group": """Name:string:r DeveloperName:string Type:picklist Email:email""",
    "GroupMember": """GroupId:reference:rc:Group UserOrGroupId:reference:rc:User,Group""",
    "LeadStatus": """MasterLabel:string:o ApiName:string:o IsConverted:boolean:o
        IsDefault:boolean:o SortOrder:int:o""",
    "Lead": """Salutation:string FirstName:string LastName:string:r Name:string:o
        Company:string:r Title:string Email:email Phone:phone MobilePhone:phone
        Website:url LeadSource:picklist Status:picklist Rating:picklist Industry:picklist
        AnnualRevenue:currency NumberOfEmployees:int Street:textarea City:string
        State:string PostalCode:string Country:string Description:textarea
        HasOptedOutOfEmail:boolean DoNotCall:boolean OwnerId:reference::User,Group
        IsConverted:boolean:o ConvertedDate:date:o ConvertedAccountId:reference:o:Account
        ConvertedContactId:reference:o:Contact
        ConvertedOpportunityId:reference:o:Opportunity""",
    "Contact": """Salutation:string FirstName:string LastName:string:r Name:string:o
        Email:email Phone:phone MobilePhone:phone Title:string Department:string
        AccountId:reference::Account OwnerId:reference::User LeadSource:picklist
        MailingStreet:textarea MailingCity:string MailingState:string
        MailingPostalCode:string MailingCountry:string Description:textarea
        HasOptedOutOfEmail:boolean DoNotCall:boolean""",
    "Account": """Name:string Type:picklist
        Industry:picklist AnnualRevenue:currency NumberOfEmployees:int Website:url
        Phone:phone BillingStreet:textarea BillingCity:string BillingState:string
        BillingPostalCode:string BillingCountry:string Description:textarea
        OwnerId:reference::User""",
    "Opportunity": """Name:string:r StageName:picklist:r CloseDate:date:r Amount:currency
        Probability:percent Type:picklist LeadSource:picklist Description:textarea
        AccountId:reference::Account OwnerId:reference::User IsClosed:boolean:o
        IsWon:boolean:o""",
    "Task": """Subject:string WhoId:reference::Lead,Contact
        WhatId:reference::Account,Opportunity,Campaign OwnerId:reference::User,Group
        ActivityDate:date Status:picklist Priority:picklist Description:textarea
        IsClosed:boolean:o TaskSubtype:picklist""",
    "Event": """Subject:string WhoId:reference::Lead,Contact
        WhatId:reference::Account,Opportunity,Campaign OwnerId:reference::User
        StartDateTime:datetime EndDateTime:datetime ActivityDateTime:datetime
        ActivityDate:date DurationInMinutes:int Location:string Description:textarea""",
    "Campaign": """Name:string:r Type:picklist Status:picklist IsActive:boolean
        StartDate:date EndDate:date Description:textarea OwnerId:reference::User""",
    "CampaignMemberStatus": """CampaignId:reference:rc:Campaign Label:string:r
        IsDefault:boolean HasResponded:boolean SortOrder:int""",
    "CampaignMember": """CampaignId:reference:rc:Campaign LeadId:reference:c:Lead
        ContactId:reference:c:Contact Status:picklist HasResponded:boolean:o
        FirstRespondedDate:date:o""",
    # Read only: "Assignment rules are created, configured, and deleted in the user
    # interface" (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_assignmentrule.htm)
    "AssignmentRule": """Name:string:o Active:boolean:o SobjectType:picklist:o""",
    "RecordType": """Name:string:o DeveloperName:string:o SobjectType:picklist:o
        IsPersonType:boolean:o IsActive:boolean:o Description:string:o""",
}
#: Fields an org has only with Person Accounts enabled (and its Account record types):
#: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm
#: and the Account field reference (IsPersonAccount, PersonEmail, PersonContactId, …).
_PERSON_ACCOUNT_FIELDS: dict[str, str] = {
    "Account": """FirstName:string LastName:string IsPersonAccount:boolean:o
        PersonEmail:email PersonMobilePhone:phone PersonHasOptedOutOfEmail:boolean
        PersonContactId:reference:o:Contact RecordTypeId:reference::RecordType""",
    "Contact": """IsPersonAccount:boolean:o""",
}
_READ_ONLY_OBJECTS = frozenset(
    {"LeadStatus", "User", "Group", "GroupMember", "AssignmentRule", "RecordType"}
)
_PICKLISTS = {
    ("Opportunity", "StageName"): (
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ),
    ("Task", "Status"): (
        "Not Started",
        "In Progress",
        "Completed",
        "Waiting on someone else",
        "Deferred",
    ),
    ("Task", "Priority"): ("High", "Normal", "Low"),
    ("Lead", "Rating"): ("Hot", "Warm", "Cold"),
    ("Group", "Type"): ("Queue", "Regular"),
    ("AssignmentRule", "SobjectType"): ("Case", "Lead"),
}

# The org itself, one read-only record (journey.emulator.edition).
_STANDARD["Organization"] = """Name:string:o OrganizationType:picklist:o IsSandbox:boolean:o
    InstanceName:string:o"""
_READ_ONLY_OBJECTS |= {"Organization"}


#: Standard fields with the idLookup property besides ``Id`` ("The Id field of each object
#: has this property and some Name fields. There are exceptions, so check for the
#: property", https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/access_for_fields.htm).
#: Only those the references show: Contact Email ("Create, Filter, Group, idLookup, …",
#: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm)
#: and Lead Email (the REST guide upserts ``sobjects/Lead/Email/…``,
#: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm).
_ID_LOOKUP = frozenset({("Contact", "Email"), ("Lead", "Email")})


def _relationship(name: str) -> str:
    if name == "WhoId":
        return "Who"
    if name == "WhatId":
        return "What"
    return name.removesuffix("Id")


def standard_schema(*, person_accounts: bool = False) -> Schema:
    """A fresh schema of the standard objects (each org gets its own, seeds add to it).
    ``person_accounts``: the org has Person Accounts enabled, so Account and Contact have
    their person fields; a default org has none of them."""
    objects = []
    for object_name, table in _STANDARD.items():
        sobject = ObjectDef(object_name, createable=object_name not in _READ_ONLY_OBJECTS)
        sobject.add(FieldDef("Id", "id", createable=False, updateable=False, id_lookup=True))
        if person_accounts:
            table = f"{table} {_PERSON_ACCOUNT_FIELDS.get(object_name, '')}"
        for entry in table.split():
            name, kind, flags, *targets = [*entry.split(":"), ""][:4]
            reference_to = tuple(targets[0].split(",")) if targets and targets[0] else ()
            sobject.add(
                FieldDef(
                    name,
                    kind,
                    createable="o" not in flags,
                    updateable="o" not in flags and "c" not in flags,
                    required="r" in flags,
                    reference_to=reference_to,
                    relationship_name=_relationship(name) if kind == "reference" else None,
                    picklist_values=_PICKLISTS.get((object_name, name), ()),
                    length=LENGTHS.get((object_name, name), 0),
                    label=LABELS.get((object_name, name), ""),
                    id_lookup=(object_name, name) in _ID_LOOKUP,
                )
            )
        for name, kind, target in (
            ("IsDeleted", "boolean", ()),
            ("CreatedDate", "datetime", ()),
            ("CreatedById", "reference", ("User",)),
            ("LastModifiedDate", "datetime", ()),
            ("LastModifiedById", "reference", ("User",)),
            ("SystemModstamp", "datetime", ()),
        ):
            sobject.add(
                FieldDef(
                    name,
                    kind,
                    createable=False,
                    updateable=False,
                    reference_to=target,
                    relationship_name=_relationship(name) if target else None,
                )
            )
        objects.append(sobject)
    return Schema(objects)
