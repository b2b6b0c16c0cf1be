"""A small real SMTP server for the tests, on 127.0.0.1 in the test process (sockets and
threads speaking RFC 5321, no mocks), with the behaviours mail servers really have:

* ``starttls``: offers STARTTLS (RFC 3207) with a trustme certificate for 127.0.0.1 —
  ``ca_pem`` is its CA, to trust or not; ``implicit_tls``: TLS from the first byte (smtps);
* ``auth``: offers ``AUTH PLAIN`` and records each login (``logins``);
* ``defer_after``: answers ``451`` to ``MAIL FROM`` once a connection has taken that many
  messages (a per-connection cap, as many providers have);
* ``refuse``: addresses answered ``550`` at ``RCPT TO``;
* ``delay``: seconds between the end of a message's data and the ``250`` (a slow server,
  so a test can kill a client mid-send).

A message counts as received at the moment the server answers ``250`` to its data — the
acceptance point — whether or not the client lives to read the answer. ``received`` lists
them in order; ``by_message_id()`` groups them as a deduplicating receiver does.
"""

from __future__ import annotations

import base64
import socketserver
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any, BinaryIO

import trustme

__all__ = ["Received", "SmtpServer", "smtp_server"]


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    connection: int
    tls: bool

    @property
    def message_id(self) -> str:
        return str(message_from_bytes(self.data)["Message-ID"])

    @property
    def subject(self) -> str:
        return str(message_from_bytes(self.data)["Subject"])


@dataclass
class _Behaviour:
    starttls: bool = False
    implicit_tls: bool = False
    auth: bool = False
    defer_after: int | None = None
    refuse: frozenset[str] = frozenset()
    delay: float = 0.0


class _Handler(socketserver.BaseRequestHandler):
    server: SmtpServer

    def handle(self) -> None:
        server = self.server
        connection = server.next_connection()
        self.sock: Any = self.request
        self.tls = False
        if server.behaviour.implicit_tls:
            try:
                self.sock = server.tls_context.wrap_socket(self.sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
            self.tls = True
        self.stream: BinaryIO = self.sock.makefile("rwb")
        try:
            self._converse(connection)
        except (ssl.SSLError, OSError):
            pass
        finally:
            self.stream.close()
            if self.sock is not self.request:
                self.sock.close()

    def _converse(self, connection: int) -> None:
        server, behaviour = self.server, self.server.behaviour

        def say(line: str) -> None:
            self.stream.write(line.encode() + b"\r\n")
            self.stream.flush()

        say("220 127.0.0.1 test SMTP")
        taken = 0
        sender: str | None = None
        recipients: list[str] = []
        while line := self.stream.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                offers = ["127.0.0.1"]
                if behaviour.starttls and not self.tls:
                    offers.append("STARTTLS")
                if behaviour.auth:
                    offers.append("AUTH PLAIN")
                for extension in offers[:-1]:
                    say(f"250-{extension}")
                say(f"250 {offers[-1]}")
            elif verb == "STARTTLS" and behaviour.starttls and not self.tls:
                say("220 2.0.0 Ready to start TLS")
                self.stream.close()
                try:
                    self.sock = server.tls_context.wrap_socket(self.sock, server_side=True)
                finally:
                    # (a client that does not trust us hangs up: the wrap fails)
                    self.stream = self.sock.makefile("rwb")
                self.tls = True
                server.tls_sessions += 1
            elif verb == "AUTH" and behaviour.auth:
                _, _, rest = command.partition(" ")
                mechanism, _, initial = rest.partition(" ")
                if mechanism.upper() != "PLAIN" or not initial:
                    say("504 5.5.4 only AUTH PLAIN with an initial response")
                    continue
                _, user, password = base64.b64decode(initial).decode().split("\0")
                server.logins.append((user, password, self.tls))
                say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                if behaviour.defer_after is not None and taken >= behaviour.defer_after:
                    say("451 4.7.1 Too many messages on this connection, try again")
                    continue
                sender = command.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                recipients = []
                say("250 2.1.0 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>")
                if address.casefold() in behaviour.refuse:
                    say(f"550 5.1.1 <{address}>: mailbox unavailable")
                    continue
                recipients.append(address)
                say("250 2.1.5 OK")
            elif verb == "DATA":
                if sender is None or not recipients:
                    say("503 5.5.1 need MAIL and RCPT first")
                    continue
                say("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.stream.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b".") else chunk
                if not chunk:
                    return  # the client went away mid-message: nothing was accepted
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                server.accept(Received(sender, tuple(recipients), data, connection, self.tls))
                taken += 1
                sender, recipients = None, []
                say("250 2.0.0 OK queued")
            elif verb == "RSET":
                sender, recipients = None, []
                say("250 2.0.0 OK")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            elif verb == "NOOP":
                say("250 2.0.0 OK")
            else:
                say("502 5.5.2 command not recognised")


class SmtpServer(socketserver.ThreadingTCPServer):
    """See the module docstring. ``port``, ``received``, ``logins``, ``connections``."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, folder: Path, **behaviour: Any) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = _Behaviour(**behaviour)
        self.received: list[Received] = []
        self.logins: list[tuple[str, str, bool]] = []
        self.connections = 0
        self.tls_sessions = 0
        self._lock = threading.Lock()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = folder / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.tls_context)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def next_connection(self) -> int:
        with self._lock:
            self.connections += 1
            return self.connections

    def accept(self, message: Received) -> None:
        with self._lock:
            self.received.append(message)

    def by_message_id(self) -> Counter[str]:
        """Message-ID → how many times it arrived."""
        with self._lock:
            return Counter(m.message_id for m in self.received)


@contextmanager
def smtp_server(folder: Path, **behaviour: Any) -> Iterator[SmtpServer]:
    """An ``SmtpServer`` serving in a thread for the ``with`` block."""
    folder.mkdir(parents=True, exist_ok=True)
    server = SmtpServer(folder, **behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
