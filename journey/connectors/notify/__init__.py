"""Notification delivery: ``send notification "SUBJECT" to "EMAIL" [also to lead owner]``.

Pipeline position: executor → connector (``salesforce.notifications`` picks the recipients)
→ **notify** → an SMTP server, or the local outbox folder. Salesforce's own notification
emails do not fire for API-made assignments, which is why journeys send their own.

* ``message`` — a ``Letter`` (one email as data, its Message-ID derived from the effect
  key) and the checks that keep contact data out of headers (``header_text``,
  ``checked_address``);
* ``outbox`` — the store's ``notification_outbox``: each letter written before sending and
  marked sent right after the server accepted it;
* ``smtp`` — the connection: verified TLS, no password in clear text unless allowed,
  timeouts, the server's answer per message;
* ``delivery`` — ``Notifier.deliver``: exactly once per letter as far as SMTP allows (its
  docstring states the guarantee and its one-message limit).

With ``[notifications] smtp_url_env`` naming a set variable (``smtp://user:pass@host:587``
with STARTTLS, or ``smtps://…`` for TLS from the start) mail goes through SMTP; without
one, every letter is written to ``.journey/outbox/`` as an ``.eml`` file, and the outcome
says so: nothing is silently dropped, and a new machine needs no mail server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journey.connectors.notify.delivery import Notifier, Outcome
    from journey.connectors.notify.message import (
        Letter,
        RecipientError,
        checked_address,
        header_text,
        message_id_for,
    )
    from journey.connectors.notify.outbox import Outbox
    from journey.connectors.notify.smtp import SmtpError

#: Where each public name lives: imported on first use, so that a connector made for a
#: run that sends nothing never loads the delivery stack (smtplib, ssl, email).
_HOMES = {
    "Letter": "journey.connectors.notify.message",
    "Notifier": "journey.connectors.notify.delivery",
    "Outbox": "journey.connectors.notify.outbox",
    "Outcome": "journey.connectors.notify.delivery",
    "RecipientError": "journey.connectors.notify.message",
    "SmtpError": "journey.connectors.notify.smtp",
    "checked_address": "journey.connectors.notify.message",
    "header_text": "journey.connectors.notify.message",
    "message_id_for": "journey.connectors.notify.message",
}

__all__ = [
    "Letter",
    "Notifier",
    "Outbox",
    "Outcome",
    "RecipientError",
    "SmtpError",
    "checked_address",
    "header_text",
    "message_id_for",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
