"""One notification email as data, and the checks that keep contact data out of its headers.

Pipeline position: connector (``salesforce.notifications``) → **message** → ``outbox`` →
``delivery``. A ``Letter`` is everything a message is — recipients, subject, body, a
Message-ID derived from the effect key, the moment it was first intended (its Date) — so the
same letter always becomes the same bytes, whichever attempt sends it.

Contact data reaches headers only through two doors, both here:

* ``header_text`` folds CR, LF and every other control character to a space: a subject
  rendered from a field that holds a line break stays one line (RFC 5322 §2.2: a header
  field body holds no CR or LF except in folding, which the generator adds itself);
* ``checked_address`` accepts exactly one plain ASCII address (``local@domain.tld``) and
  refuses anything else — CR/LF, a display name, a comma-separated list, ``{{Email}}`` left
  unrendered — raising ``RecipientError`` naming the value, which fails that contact alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

__all__ = [
    "Letter",
    "RecipientError",
    "checked_address",
    "compose",
    "envelope_sender",
    "header_text",
    "message_id_for",
    "recipients_of",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# An RFC 5321 dot-atom local part and a dotted host name, ASCII only (no SMTPUTF8): what
# every server takes without an extension. Stricter than the RFCs on purpose.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})+$")
#: RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, so an address at most 254.
_MAX_ADDRESS = 254


class RecipientError(ValueError):
    """A recipient that is not one plain address; the message names the value."""


def header_text(value: str) -> str:
    """``value`` on one line: every run of control characters (CR, LF, TAB, NUL, ...)
    becomes one space."""
    return _CONTROL.sub(" ", value).strip()


def checked_address(value: str, what: str = "recipient") -> str:
    """``value`` as one plain address, surrounding spaces removed; ``RecipientError`` when
    it is anything else."""
    text = value.strip()
    shown = header_text(value)[:80] or "(empty)"
    if not text:
        raise RecipientError(f"the {what} is empty")
    if _CONTROL.search(text):
        raise RecipientError(f'the {what} "{shown}" holds a line break or control character')
    if len(text) > _MAX_ADDRESS or not _ADDRESS.match(text) or parseaddr(text)[1] != text:
        raise RecipientError(f'the {what} "{shown}" is not one email address')
    return text


def message_id_for(key: str) -> str:
    """The Message-ID of the effect ``key``'s email: the same on every attempt, so a
    message sent twice (a crash between the server's acceptance and our record of it) is
    one message to a receiver that deduplicates by Message-ID (RFC 5322 §3.6.4: it "refers
    to a particular version of a particular message")."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@journey>"


def envelope_sender(sender: str) -> str:
    """The address of ``[notifications] from`` ("Journeys <j@acme.example>" or a bare
    address), for the SMTP envelope."""
    return parseaddr(header_text(sender))[1] or header_text(sender)


@dataclass(frozen=True)
class Letter:
    """One email, as the outbox stores it. ``state``: pending, sent or failed."""

    key: str
    contact_id: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    created_at: datetime
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    via: str | None = None
    location: str | None = None


def compose(letter: Letter, *, smtp: bool = True) -> bytes:
    """The letter as RFC 5322 bytes: CRLF line ends for SMTP, LF for a file. Raises
    ``ValueError`` for a header the email package refuses (caught per contact)."""
    message = EmailMessage()
    message["From"] = header_text(letter.sender)
    message["To"] = ", ".join(letter.recipients)
    message["Subject"] = header_text(letter.subject)
    message["Date"] = format_datetime(letter.created_at)
    message["Message-ID"] = letter.message_id
    message.set_content(letter.body)
    return message.as_bytes(policy=policy.SMTP if smtp else policy.default)


def recipients_of(to: str, extra: Sequence[str]) -> tuple[str, ...]:
    """``to`` first, then each extra address not already there (any case)."""
    out = [to]
    for address in extra:
        if address.casefold() not in (a.casefold() for a in out):
            out.append(address)
    return tuple(out)
