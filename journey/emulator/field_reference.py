"""Facts of Salesforce's Field Reference the emulated org's standard fields carry: each
text field's length and the labels that are not the API name spelled out.

Pipeline position: read once by ``schema.standard_schema``; describe shows them and
``write_checks`` refuses a longer value with STRING_TOO_LONG, named by its label.
"""

from __future__ import annotations

__all__ = ["LABELS", "LENGTHS"]

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
