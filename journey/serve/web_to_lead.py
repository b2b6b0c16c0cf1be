"""A form post's fields, named as Salesforce's Web-to-Lead names them or as the engine does.

Pipeline position: HTTP (``serve.intake``) -> **web_to_lead** -> ``engine.intake.submit_form``.
A website's form posts name/value pairs; here they become a contact's email and fields, so
an existing Web-to-Lead form works unchanged once its action URL points at the intake
(docs/forms.md).

A name is, in this order: one of Salesforce's own controls (``oid``, ``retURL``, ...: the org
and the page to return to, never a contact's data); a Web-to-Lead field name
(``first_name``, ``lead_source``, ...: ``WEB_TO_LEAD_FIELDS``); a custom field's ID
(``00N5g00000ABCDe``) mapped in ``[serve.web_to_lead]``; a field the project knows (a
standard field or one declared in ``[fields]``, any case: ``"Plan Tier"``). Anything else
is set aside and named in the answer, as are fields a public form must not write: the
Salesforce identity (a post could otherwise link itself to any record), the owner, and
fields only Salesforce writes. A public form never creates a new field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from journey.engine.contacts import ContactContext
from journey.engine.field_values import FieldValueError, coerce
from journey.vocabulary import OWNER_FIELD

__all__ = [
    "SALESFORCE_CONTROLS",
    "WEB_TO_LEAD_FIELDS",
    "FieldNames",
    "FormFieldError",
    "FormPost",
    "read_post",
]

#: The Web-to-Lead form's field names, as the HTML that Setup -> Web-to-Lead -> "Create
#: Web-to-Lead Form" generates writes them (``<input name="first_name">``, posted to
#: ``https://webto.salesforce.com/servlet/servlet.WebToLead?encoding=UTF-8`` with the hidden
#: ``oid`` and ``retURL``; Salesforce Help's Web-to-Lead pages, e.g.
#: https://help.salesforce.com/apex/HTViewHelpDoc?id=sales.faq_leads_how_can_i_be_sure.htm),
#: each with the contact field it fills. Names the engine has no standard field for
#: (salutation, mobile, fax, url, employees) are set aside unless a project declares a field
#: of that name.
WEB_TO_LEAD_FIELDS: Mapping[str, str] = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email",
    "company": "Company",
    "title": "Title",
    "phone": "Phone",
    "street": "Street",
    "city": "City",
    "state": "State",
    "zip": "Postal Code",
    "country": "Country",
    "lead_source": "Lead Source",
    "description": "Description",
    "industry": "Industry",
    "rating": "Rating",
    "revenue": "Annual Revenue",
    "emailOptOut": "Unsubscribed",
    "doNotCall": "Do Not Call",
}

#: What a Web-to-Lead form posts besides the lead's data: the org's ID, the return page,
#: the encoding, Salesforce's debug switches, campaign and record type, reCAPTCHA's fields,
#: a named submit button. Taken for what they are (``retURL``) or ignored, never stored.
SALESFORCE_CONTROLS = frozenset(
    {
        "oid",
        "orgid",
        "returl",
        "encoding",
        "debug",
        "debugemail",
        "campaign_id",
        "member_status",
        "recordtype",
        "captcha_settings",
        "g-recaptcha-response",
        "submit",
    }
)

#: Fields a public form never writes, with the reason given back.
_PROTECTED = {
    "salesforce id": "the Salesforce record is linked by the engine, never by a form",
    "salesforce type": "the Salesforce record is linked by the engine, never by a form",
    OWNER_FIELD.casefold(): "the owner is assigned in Salesforce or by a journey",
}
UNKNOWN = "not a field of this project (declare it in [fields] or map it in [serve.web_to_lead])"
INBOUND_ONLY = "inbound only: Salesforce's to write"
#: C0 controls but tab, line feed and carriage return (a textarea's), and DEL: no field holds
#: them, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_HINTS = {
    "Number": "send digits, e.g. 1200 or 1200.50",
    "Date": "send the date as YYYY-MM-DD",
    "True/False": "send true or false (a checked checkbox's value counts as true)",
}


class FormFieldError(ValueError):
    """A value the post cannot be taken with; ``field`` is its name as posted."""

    def __init__(self, field: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.field, self.message, self.hint = field, message, hint


@dataclass(frozen=True)
class FormPost:
    """A post read: who (``email``), their fields, where to send the browser, and what was
    set aside (posted name -> why). ``trapped``: the honeypot was filled."""

    email: str
    fields: dict[str, str]
    ret_url: str | None
    ignored: dict[str, str]
    trapped: bool = False


class FieldNames:
    """Which contact field each posted name fills (module docstring), built once per
    project: the project's field names, Web-to-Lead's, and the custom IDs it maps."""

    def __init__(self, field_types: Mapping[str, str], custom: Mapping[str, str]) -> None:
        self._names = {name.casefold(): name for name in field_types}
        for w2l, name in WEB_TO_LEAD_FIELDS.items():
            self._names[w2l.casefold()] = name
        self._custom = dict(custom)  # IDs are case-sensitive: matched as written

    def unknown_targets(self) -> list[str]:
        """Contact fields ``[serve.web_to_lead]`` names that the project does not know."""
        return sorted(n for n in self._custom.values() if n.casefold() not in self._names)

    def resolve(self, posted: str) -> str | None:
        """The contact field ``posted`` fills, ``None`` when it fills none."""
        name = posted.strip()
        custom = self._custom.get(name) or (len(name) == 18 and self._custom.get(name[:15]))
        if custom:
            return self._names.get(custom.casefold(), custom)
        return self._names.get(name.casefold())


def read_post(
    pairs: Iterable[tuple[str, str]],
    names: FieldNames,
    ctx: ContactContext,
    honeypot: str = "",
) -> FormPost:
    """The post's contact, fields and return page; raises ``FormFieldError`` for an email
    or a value it cannot be taken with. Repeated names (a multi-select) join with ``;``,
    as Salesforce stores a multi-select picklist."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    trapped = bool(honeypot) and any(v.strip() for v in values.pop(honeypot, []))
    ret_url: str | None = None
    fields: dict[str, str] = {}
    posted_as: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for name, given in values.items():
        key = name.strip().casefold()
        if key in SALESFORCE_CONTROLS:
            if key == "returl" and given[-1].strip():
                ret_url = given[-1].strip()
            continue
        target = names.resolve(name)
        if target is None:
            ignored[name] = UNKNOWN
            continue
        reason = _PROTECTED.get(target.casefold())
        if reason is None and ctx.is_inbound_only(target):
            reason = INBOUND_ONLY
        if reason is not None:
            ignored[name] = reason
            continue
        value = ";".join(v.strip() for v in given if v.strip())
        if value:
            fields[target] = value
            posted_as[target] = name
    if trapped:
        return FormPost("", {}, ret_url, ignored, trapped=True)
    for target, value in fields.items():
        if _CONTROL.search(value):
            raise FormFieldError(
                posted_as[target],
                f'field "{target}" holds a control character',
                "send text: tabs and line breaks are kept, other control characters are not",
            )
    email = fields.pop("Email", "")
    if not email:
        raise FormFieldError(
            "email", "the form has no email", "add an email field: the contact is found by it"
        )
    if len(email) > 254 or not _EMAIL.match(email):
        raise FormFieldError(
            posted_as["Email"], f'"{email}" is not an email address', "send name@domain"
        )
    for target, value in fields.items():
        kind = ctx.type_of(target)
        try:
            coerce(target, value, kind)
        except FieldValueError as exc:
            raise FormFieldError(posted_as[target], str(exc), _HINTS.get(kind, "")) from None
    return FormPost(email, fields, ret_url, ignored)
