"""How a contact's fields are kept: core fields in columns, the rest as typed values.

Pipeline position: below ``engine.contacts`` (which writes) and ``engine.contact_loading``
(which reads); ``engine.intake`` and the sync call ``coerce`` to check a value before
taking it. Core fields live in the contact's own columns (Email, First Name, Last Name,
Company, Lead Owner, Salesforce ID and type). Every other field is a typed value, typed by
``journey.toml`` ``[fields]``: a Number is also stored as a number, a Date as a date, a
True/False as a flag, so the store can compare them as such. ``coerce`` refuses a value
that does not fit its type, so a bad CSV row is reported, not stored.
"""

from __future__ import annotations

from datetime import date

from journey.engine.conditions import parse_number_or_date

__all__ = ["CORE_COLUMNS", "FieldValueError", "coerce"]

#: Field key (case-folded name) -> the contact column that holds it. Email, Lead Owner and
#: the Salesforce identity have columns too, but are not fields of this kind.
CORE_COLUMNS = {"first name": "first_name", "last name": "last_name", "company": "company"}

_TRUE = {"true", "yes", "1", "y", "t", "checked", "on", "x"}
_FALSE = {"false", "no", "0", "n", "f", "unchecked", "off", ""}


class FieldValueError(ValueError):
    """A value that does not fit its field's declared type; the message says which."""


def coerce(name: str, value: str, kind: str) -> tuple[str, float | None, date | None, bool | None]:
    """(text, number, date, flag) for a field value of a declared type."""
    text = value.strip()
    if kind == "Number":
        parsed = parse_number_or_date(text)
        if not isinstance(parsed, float):
            raise FieldValueError(f'field "{name}": "{value}" is not a number')
        return text, parsed, None, None
    if kind == "Date":
        parsed = parse_number_or_date(text)
        if not isinstance(parsed, date):
            raise FieldValueError(f'field "{name}": "{value}" is not a date (use YYYY-MM-DD)')
        return parsed.isoformat(), None, parsed, None
    if kind == "True/False":
        folded = text.casefold()
        if folded not in _TRUE | _FALSE:
            raise FieldValueError(f'field "{name}": "{value}" is not true or false')
        flag = folded in _TRUE
        return ("true" if flag else "false"), None, None, flag
    return text, None, None, None
