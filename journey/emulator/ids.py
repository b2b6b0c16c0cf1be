"""Salesforce record IDs: key prefixes, the 15 → 18 character checksum, and minting.

Pipeline position: used by every part of the emulated org that names a record. Clients
send 15- or 18-character IDs and get 18-character ones back, exactly as from a real org,
so code that compares IDs is tested against both forms.
"""

from __future__ import annotations

__all__ = [
    "KEY_PREFIXES",
    "InvalidIdError",
    "checksum",
    "mint",
    "object_for_id",
    "to_18",
]

#: The key prefix of each object the emulated org holds (from Salesforce's object reference).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "Group": "00G",
    "GroupMember": "011",
    "LeadStatus": "01J",
    "RecordType": "012",
    "AssignmentRule": "01Q",
    "CampaignMemberStatus": "01Y",
    "Campaign": "701",
    "CampaignMember": "00v",
    "Organization": "00D",
    "QueryLocator": "01g",
    "BulkJob": "750",
    "BulkBatch": "751",
    "BulkQueryResult": "752",
}

_PREFIX_OBJECTS = {prefix: name for name, prefix in KEY_PREFIXES.items()}
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_POD = "5E0"  # instance + reserved characters; any fixed value keeps IDs stable


class InvalidIdError(ValueError):
    """A string that is not a well-formed 15- or 18-character Salesforce ID."""


def checksum(id15: str) -> str:
    """The three characters Salesforce appends to make an ID case-insensitive-safe.

    For each 5-character chunk, bit j is set when character j is an upper-case letter;
    the 5-bit value indexes ``A..Z0..5``.
    """
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for j, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << j
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """The canonical 18-character form of a 15- or 18-character ID.

    An 18-character ID whose suffix does not match its first 15 characters is refused,
    as a real org refuses it, rather than silently "corrected".
    """
    if len(record_id) not in (15, 18) or not record_id.isalnum() or not record_id.isascii():
        raise InvalidIdError(record_id)
    head = record_id[:15]
    full = head + checksum(head)
    if len(record_id) == 18 and record_id[15:].upper() != full[15:]:
        raise InvalidIdError(record_id)
    return full


def object_for_id(record_id: str) -> str | None:
    """The object an ID belongs to, from its key prefix (None when the prefix is unknown)."""
    return _PREFIX_OBJECTS.get(record_id[:3])


def mint(sobject: str, number: int) -> str:
    """The 18-character ID of the ``number``-th record of ``sobject`` (numbers from 1)."""
    digits = ""
    value = number
    while value:
        value, rest = divmod(value, 62)
        digits = _BASE62[rest] + digits
    if len(digits) > 9:
        raise OverflowError("the emulated org ran out of IDs")
    head = KEY_PREFIXES[sobject] + _POD + digits.rjust(9, "0")
    return head + checksum(head)
