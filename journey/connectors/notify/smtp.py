"""Talking to an SMTP server: where (the URL), how safely (TLS verified), how long (timeouts),
and what the server said about each message.

Pipeline position: ``delivery`` → **smtp** → the mail server. ``SmtpTarget.from_url`` reads
``smtp://user:password@host:587`` or ``smtps://…:465``; ``SmtpSession`` is one connection:

* TLS is verified with ``ssl.create_default_context()`` (the system's CAs, or
  ``[notifications] ca_file``; host name checked) for ``smtps://`` from the first byte and
  for ``STARTTLS`` (RFC 3207) on ``smtp://`` whenever the server offers it. A certificate
  that does not verify ends the attempt before anything is sent: no fallback to clear text.
* Credentials never cross a connection without TLS: a server that offers no STARTTLS gets
  no password unless the user allowed it (``?insecure=true`` on the URL, or
  ``[notifications] allow_plaintext = true``). Without a user name there is nothing to
  protect and a local relay is used as it is.
* Every connect and every answer waits ``[notifications] timeout_seconds`` at most (the
  socket timeout smtplib applies to the connection and to each read).
* ``send`` reports what the server said about one message (RFC 5321 §4.2.1: 2yz accepted,
  4yz a transient failure worth trying again, 5yz permanent), including the recipients it
  refused while accepting the others; a connection lost mid-message is ``lost`` — the
  server may or may not have taken it.

``SmtpError`` carries a stable code for the feed (``SMTP_TLS_FAILED``,
``SMTP_PLAINTEXT_REFUSED``, ``SMTP_LOGIN_REFUSED``, ``SMTP_UNREACHABLE``,
``SMTP_SETTINGS``); its message names the host, never the password.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Handover", "SmtpError", "SmtpSession", "SmtpTarget"]

_TRUE = {"1", "true", "yes", "on"}


class SmtpError(Exception):
    """No connection fit to send through: ``code`` says why, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect. The password stays out of ``repr``."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_plaintext: bool = False
    timeout: float = 30.0
    ca_file: str | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        allow_plaintext: bool = False,
        timeout: float = 30.0,
        ca_file: str | None = None,
    ) -> SmtpTarget:
        """Read ``smtp[s]://[user[:password]@]host[:port][?insecure=true]``; ``SmtpError``
        (``SMTP_SETTINGS``, the URL not echoed: it holds the password) otherwise."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpError(
                "SMTP_SETTINGS",
                "the SMTP URL must look like smtp://user:password@host:587 or "
                "smtps://user:password@host:465",
            )
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"insecure"})
        if unknown:
            raise SmtpError(
                "SMTP_SETTINGS",
                f"the SMTP URL has an unknown option {unknown[0]!r} (known: insecure)",
            )
        insecure = any(v.strip().lower() in _TRUE for v in query.get("insecure", []))
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            allow_plaintext=allow_plaintext or insecure,
            timeout=timeout,
            ca_file=ca_file,
        )


HandoverStatus = Literal["accepted", "transient", "permanent", "lost"]


@dataclass(frozen=True)
class Handover:
    """What the server said about one message. ``refused``: recipients it turned down while
    taking the message for the others (address → "550 …")."""

    status: HandoverStatus
    error: str | None = None
    refused: Mapping[str, str] = field(default_factory=dict)


def _reply(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(said.split())}"


def _kind(code: int) -> HandoverStatus:
    # RFC 5321 §4.2.1: 5yz permanent; 4yz, and anything a server should not have said,
    # worth another try.
    return "permanent" if 500 <= code < 600 else "transient"


class SmtpSession:
    """One connection to the server (``open`` first). ``sent`` counts the messages it took."""

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self.client: smtplib.SMTP | None = None
        self.sent = 0

    def open(self) -> None:
        t = self.target
        where = f"{t.host}:{t.port}"
        client: smtplib.SMTP | None = None
        try:
            context = ssl.create_default_context(cafile=t.ca_file)
            if t.implicit_tls:
                client = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout, context=context)
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            client.ehlo()
            if not t.implicit_tls:
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif t.username and not t.allow_plaintext:
                    raise SmtpError(
                        "SMTP_PLAINTEXT_REFUSED",
                        f"the SMTP server {where} offers no STARTTLS: not sending the "
                        "password in clear text (allow it with [notifications] "
                        "allow_plaintext = true or smtp://…?insecure=true)",
                    )
            if t.username:
                client.login(t.username, t.password or "")
        except SmtpError:
            _quietly_close(client)
            raise
        except ssl.SSLCertVerificationError as error:
            _quietly_close(client)
            raise SmtpError(
                "SMTP_TLS_FAILED",
                f"the SMTP server {where}'s certificate does not verify "
                f"({error.verify_message}): nothing sent; trust its CA with "
                "[notifications] ca_file",
            ) from None
        except ssl.SSLError as error:
            _quietly_close(client)
            raise SmtpError(
                "SMTP_TLS_FAILED", f"TLS with the SMTP server {where} failed: {error.reason}"
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            _quietly_close(client)
            raise SmtpError(
                "SMTP_LOGIN_REFUSED",
                f"the SMTP server {where} refused the login: "
                f"{_reply(error.smtp_code, error.smtp_error)}",
            ) from None
        except smtplib.SMTPNotSupportedError:
            _quietly_close(client)
            raise SmtpError(
                "SMTP_LOGIN_REFUSED", f"the SMTP server {where} offers no login (AUTH)"
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            _quietly_close(client)
            said = str(error) or type(error).__name__
            raise SmtpError(
                "SMTP_UNREACHABLE", f"cannot talk to the SMTP server {where}: {said}"
            ) from None
        self.client = client
        self.sent = 0

    def send(self, sender: str, recipients: Sequence[str], data: bytes) -> Handover:
        """Hand one message over. Never raises for what the server says."""
        client = self.client
        if client is None:
            return Handover("lost", "not connected")
        try:
            refused = client.sendmail(sender, list(recipients), data)
        except smtplib.SMTPRecipientsRefused as error:
            said = {str(r): _reply(c, m) for r, (c, m) in error.recipients.items()}
            permanent = all(
                500 <= c < 600 for c, _ in error.recipients.values()
            ) and not self._lost(client)
            text = "; ".join(f"{r}: {m}" for r, m in said.items())
            return Handover("permanent" if permanent else "transient", f"refused {text}")
        except smtplib.SMTPResponseException as error:
            # MAIL FROM or DATA refused (SMTPSenderRefused, SMTPDataError), or a command
            # answered out of turn; 421 means the server is closing the connection.
            text = _reply(error.smtp_code, error.smtp_error)
            if error.smtp_code == 421 or self._lost(client):
                return Handover("lost", text)
            return Handover(_kind(error.smtp_code), text)
        except (smtplib.SMTPException, OSError) as error:
            return Handover("lost", str(error) or type(error).__name__)
        self.sent += 1
        return Handover("accepted", refused={str(r): _reply(c, m) for r, (c, m) in refused.items()})

    @property
    def alive(self) -> bool:
        """Still connected (a 421 or a dropped connection closes it)."""
        return self.client is not None and not self._lost(self.client)

    @staticmethod
    def _lost(client: smtplib.SMTP) -> bool:
        return getattr(client, "sock", None) is None

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        _quietly_close(client)


def _quietly_close(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    with contextlib.suppress(OSError):
        client.close()
