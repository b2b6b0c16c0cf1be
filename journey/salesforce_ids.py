"""Salesforce record IDs as people bring them in files: their shape, checksum and object.

Pipeline position: a leaf, beside ``journey.vocabulary``. Intake validates every ID a CSV
names here before it is linked to a contact, so an ID is checked the same way wherever it
comes in. The facts, from Salesforce's documentation:

* An ID is 15 case-sensitive or 18 case-insensitive alphanumeric characters; the API
  accepts both and answers with 18 (SOAP API Developer Guide, "Field Types", ID:
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm).
* The 18-character form is the 15 followed by three characters that encode which of the
  15 are upper-case letters: per block of five, bit *j* is set when character *j* is an
  upper-case letter, and the 5-bit value indexes ``A..Z0..5`` (the case-safe form of that
  page, which the formula function ``CASESAFEID`` also returns). Hence the 18-character ID
  survives a tool that changes letter case (a spreadsheet), and a typo in it shows. The
  emulated org mints IDs with the same suffix (``journey/emulator/ids.py``), so a test
  that imports its IDs checks this code against an independent copy.
* The first three characters, the key prefix, name the object: ``00Q`` a Lead, ``003`` a
  Contact, ``001`` an Account, ``005`` a User (Salesforce Help, "Salesforce record ID
  prefixes", https://help.salesforce.com/s/articleView?id=000385203&type=1).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PERSON_PREFIXES",
    "InvalidSalesforceIdError",
    "PersonId",
    "case_safe",
    "person_id",
]

#: The objects a contact can be linked to, by key prefix.
PERSON_PREFIXES: dict[str, str] = {"00Q": "Lead", "003": "Contact"}

#: Other key prefixes people paste by mistake, named in the message that refuses them.
_OTHER_PREFIXES: dict[str, str] = {
    "001": "an Account",
    "005": "a User",
    "006": "an Opportunity",
    "00G": "a Group or queue",
    "00T": "a Task",
    "701": "a Campaign",
    "00v": "a Campaign Member",
}

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class InvalidSalesforceIdError(ValueError):
    """Text that cannot be a Lead's or Contact's ID; the message says why and what to do."""


@dataclass(frozen=True)
class PersonId:
    """A validated Lead or Contact ID: its 18-character form and its object."""

    id: str
    sobject: str  # "Lead" | "Contact"


def _suffix(id15: str) -> str:
    out = ""
    for start in (0, 5, 10):
        bits = sum(1 << j for j, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        out += _SUFFIX_ALPHABET[bits]
    return out


def _restored(id15: str, suffix: str) -> str | None:
    """The 15 characters in the letter case the suffix records; ``None`` when the suffix
    marks a digit as an upper-case letter (no ID has that suffix)."""
    chars = list(id15)
    for block, code in enumerate(suffix):
        bits = _SUFFIX_ALPHABET.index(code)
        for j in range(5):
            index = block * 5 + j
            upper = bool(bits >> j & 1)
            if upper and not chars[index].isalpha():
                return None
            chars[index] = chars[index].upper() if upper else chars[index].lower()
    return "".join(chars)


def case_safe(text: str) -> str:
    """The 18-character form of a 15- or 18-character ID, its checksum verified. An
    18-character ID whose first 15 characters all lost their case (``00qd0…``, as some
    spreadsheets write it) is restored from its suffix, since that is what the suffix is
    for; one whose case disagrees with its suffix is refused as a typo."""
    value = text.strip()
    if not (value.isascii() and value.isalnum()):
        raise InvalidSalesforceIdError(
            f'"{text}" is not a Salesforce ID: an ID has only letters and digits'
        )
    if len(value) not in (15, 18):
        raise InvalidSalesforceIdError(
            f'"{value}" is not a Salesforce ID: an ID has 15 or 18 characters, not {len(value)}'
        )
    if len(value) == 15:
        return value + _suffix(value)
    head, suffix = value[:15], value[15:].upper()
    if any(char not in _SUFFIX_ALPHABET for char in suffix):
        raise InvalidSalesforceIdError(
            f'"{value}": the last 3 characters of an 18-character ID are A-Z or 0-5'
        )
    if _suffix(head) == suffix:
        return head + suffix
    letters = [char for char in head if char.isalpha()]
    case_lost = all(c.islower() for c in letters) or all(c.isupper() for c in letters)
    restored = _restored(head, suffix) if case_lost else None
    if restored is None:
        raise InvalidSalesforceIdError(
            f'"{value}": its checksum (the last 3 characters) does not match the first 15; '
            "copy the ID again from Salesforce"
        )
    return restored + suffix


def person_id(text: str) -> PersonId:
    """A Lead's or Contact's ID from a file, in its 18-character form; any other ID is
    refused with the object it names."""
    full = case_safe(text)
    sobject = PERSON_PREFIXES.get(full[:3])
    if sobject is None:
        named = _OTHER_PREFIXES.get(full[:3])
        what = f"{named}'s ID" if named else f'an ID with prefix "{full[:3]}"'
        raise InvalidSalesforceIdError(
            f"\"{text.strip()}\" is {what}, not a Lead's (00Q...) or a Contact's (003...)"
        )
    return PersonId(full, sobject)
