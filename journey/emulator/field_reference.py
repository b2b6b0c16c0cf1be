"""Facts of Salesforce's Field and Object Reference the emulated org's standard objects
carry: each text field's length, the labels that are not the API name spelled out, and the
child relationships.

Pipeline position: read by ``schema`` (``standard_schema``, describe); ``write_checks``
refuses a longer value with STRING_TOO_LONG, named by its label; SOQL subqueries
(``evaluate``) and sObject Tree (``tree``) follow the child relationships.
"""

from __future__ import annotations

__all__ = ["CHILD_RELATIONSHIPS", "LABELS", "LENGTHS"]

# Each text field's length, from Salesforce's Field Reference (one page per object:
# https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html
# and -contact, -account, -opportunity, -task, -campaign, -campaignmember,
# -campaignmemberstatus, -leadstatus, -user). A write past it is refused with
# STRING_TOO_LONG (``write_checks``). Text fields not listed hold 255; IDs and references 18.
_TABLE: dict[str, str] = {
    "User": "FirstName:40 LastName:80 Name:121 Email:128 Username:80 Alias:8 Title:80",
    "Group": "Name:40 DeveloperName:80",
    "LeadStatus": "MasterLabel:255 ApiName:255",
    "Lead": """Salutation:40 FirstName:40 LastName:80 Name:121 Company:255 Title:128
        Email:80 Phone:40 MobilePhone:40 Website:255 Street:255 City:40 State:80
        PostalCode:20 Country:80 Description:32000""",
    "Contact": """Salutation:40 FirstName:40 LastName:80 Name:121 Email:80 Phone:40
        MobilePhone:40 Title:128 Department:80 MailingStreet:255 MailingCity:40
        MailingState:80 MailingPostalCode:20 MailingCountry:80 Description:32000""",
    "Account": """Name:255 FirstName:40 LastName:80 Website:255 Phone:40 BillingStreet:255
        BillingCity:40 BillingState:80 BillingPostalCode:20 BillingCountry:80
        Description:32000 PersonEmail:80 PersonMobilePhone:40""",
    "Opportunity": "Name:120 Description:32000",
    "Task": "Subject:255 Description:32000",
    "Event": "Subject:255 Location:255 Description:32000",
    "Campaign": "Name:80 Description:32000",
    "CampaignMemberStatus": "Label:765",
    "CampaignMember": "Status:40",
}
# Labels that are not the API name spelled out (the field references above), as describe
# and STRING_TOO_LONG's message show them.
LABELS: dict[tuple[str, str], str] = {
    ("Account", "Name"): "Account Name",
    ("Account", "Phone"): "Account Phone",
    ("Account", "Description"): "Account Description",
    ("Contact", "Description"): "Contact Description",
}

#: (object, field) → length.
LENGTHS: dict[tuple[str, str], int] = {
    (object_name, name): int(size)
    for object_name, table in _TABLE.items()
    for name, size in (entry.split(":") for entry in table.split())
}

#: Parent object → child relationship name → (child object, its reference field), as the
#: standard objects' describe lists them (``childRelationships``), for SOQL subqueries and
#: sObject Tree: "For standard object subqueries, the name of the relationship is the
#: plural name of the child object" (Using Relationship Queries,
#: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm).
CHILD_RELATIONSHIPS: dict[str, dict[str, tuple[str, str]]] = {
    "Account": {
        "Contacts": ("Contact", "AccountId"),
        "Opportunities": ("Opportunity", "AccountId"),
        "Tasks": ("Task", "WhatId"),
        "Events": ("Event", "WhatId"),
    },
    "Contact": {
        "CampaignMembers": ("CampaignMember", "ContactId"),
        "Tasks": ("Task", "WhoId"),
        "Events": ("Event", "WhoId"),
    },
    "Lead": {
        "CampaignMembers": ("CampaignMember", "LeadId"),
        "Tasks": ("Task", "WhoId"),
        "Events": ("Event", "WhoId"),
    },
    "Opportunity": {"Tasks": ("Task", "WhatId"), "Events": ("Event", "WhatId")},
    "Campaign": {
        "CampaignMembers": ("CampaignMember", "CampaignId"),
        "Tasks": ("Task", "WhatId"),
        "Events": ("Event", "WhatId"),
    },
    "Group": {"GroupMembers": ("GroupMember", "GroupId")},
}
