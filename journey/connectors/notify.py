"""Notification delivery: ``send notification "SUBJECT" to "EMAIL" [also to lead owner]``.

Pipeline position: executor → connector → **notify** → SMTP server, or the local outbox.
With ``[notifications] smtp_url_env`` naming a set variable (``smtp://user:pass@host:587``
— STARTTLS is used when the server offers it — or ``smtps://…`` for TLS from the start),
mail goes through ``smtplib``. Without one, every message is written to
``.journey/outbox/`` as an ``.eml`` file, and the outcome says so: nothing is silently
dropped, and a new machine needs no mail server to see what would be sent. Salesforce's
own notification emails do not fire for API-made assignments, which is why journeys send
their own.
"""

from __future__ import annotations

import os
import re
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from journey.engine.config import NotificationsConfig

__all__ = ["Delivery", "Notifier", "NotifyError"]


class NotifyError(Exception):
    """The mail could not be handed over (bad SMTP URL, refused login, unreachable)."""


@dataclass(frozen=True)
class Delivery:
    """Where a message went: ``via`` is "smtp" or "outbox" (``path`` set)."""

    message_id: str
    via: str
    path: Path | None = None


class Notifier:
    def __init__(
        self,
        settings: NotificationsConfig,
        outbox: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.sender = settings.from_
        self.outbox = outbox
        self._smtp_url = env.get(settings.smtp_url_env) if settings.smtp_url_env else None

    @property
    def description(self) -> str:
        if self._smtp_url:
            return f"SMTP ({urlsplit(self._smtp_url).hostname})"
        return f"the outbox folder {self.outbox}"

    def compose(self, subject: str, to: Sequence[str], body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="journey.local")
        message.set_content(body)
        return message

    def send(self, messages: Sequence[EmailMessage]) -> list[Delivery]:
        """Deliver every message (one SMTP connection for the batch)."""
        if not messages:
            return []
        if self._smtp_url:
            return self._smtp(messages)
        self.outbox.mkdir(parents=True, exist_ok=True)
        out = []
        for message in messages:
            message_id = str(message["Message-ID"])
            name = re.sub(r"[^A-Za-z0-9.@-]", "", message_id.strip("<>")) + ".eml"
            path = self.outbox / name
            path.write_bytes(bytes(message))
            out.append(Delivery(message_id, "outbox", path))
        return out

    def _smtp(self, messages: Sequence[EmailMessage]) -> list[Delivery]:
        assert self._smtp_url is not None
        url = urlsplit(self._smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise NotifyError("the SMTP URL must look like smtp://user:password@host:port")
        try:
            client: smtplib.SMTP
            if url.scheme == "smtps":
                client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=30)
            else:
                client = smtplib.SMTP(url.hostname, url.port or 25, timeout=30)
            with client:
                if url.scheme == "smtp":
                    client.ehlo()
                    if client.has_extn("starttls"):
                        client.starttls()
                        client.ehlo()
                if url.username:
                    client.login(unquote(url.username), unquote(url.password or ""))
                for message in messages:
                    client.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise NotifyError(f"SMTP server {url.hostname} refused the mail: {error}") from None
        return [Delivery(str(m["Message-ID"]), "smtp") for m in messages]
