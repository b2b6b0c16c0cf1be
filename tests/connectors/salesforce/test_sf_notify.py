"""Send Notification through SMTP: a small real SMTP server on 127.0.0.1 (a socket speaking
the protocol, no mocks) receives what ``connectors.notify`` sends; without SMTP settings
the outbox folder gets the message instead."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from journey.connectors.notify import Notifier, NotifyError
from journey.engine.config import NotificationsConfig


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: SmtpServer = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 localhost test SMTP\r\n")
        envelope: dict[str, object] = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-localhost\r\n250 AUTH PLAIN\r\n")
            elif verb == "AUTH":
                server.logins.append(command)
                self.wfile.write(b"235 2.7.0 Authentication successful\r\n")
            elif verb == "MAIL":
                envelope = {"from": command, "rcpt": []}
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                assert isinstance(envelope["rcpt"], list)
                envelope["rcpt"].append(command.split(":", 1)[1].strip("<> "))
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                envelope["data"] = data
                server.received.append(envelope)
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received: list[dict[str, object]] = []
        self.logins: list[str] = []


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_mail_goes_through_smtp_when_configured(smtp: SmtpServer, tmp_path: Path) -> None:
    port = smtp.server_address[1]
    settings = NotificationsConfig.model_validate(
        {"smtp_url_env": "JOURNEY_SMTP", "from": "journeys@acme.example"}
    )
    notifier = Notifier(
        settings,
        tmp_path / "outbox",
        environ={"JOURNEY_SMTP": f"smtp://ops:s3cret@127.0.0.1:{port}"},
    )
    assert notifier.description == "SMTP (127.0.0.1)"
    message = notifier.compose("New lead", ["ops@acme.example", "ann@acme.example"], "Jo Doe\n")
    [delivery] = notifier.send([message])
    assert delivery.via == "smtp"
    [received] = smtp.received
    assert received["rcpt"] == ["ops@acme.example", "ann@acme.example"]
    data = received["data"]
    assert isinstance(data, bytes)
    sent = message_from_bytes(data)
    assert (sent["Subject"], sent["From"]) == ("New lead", "journeys@acme.example")
    assert len(smtp.logins) == 1
    assert not (tmp_path / "outbox").exists()


def test_an_unreachable_smtp_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = NotificationsConfig(smtp_url_env="JOURNEY_SMTP")
    notifier = Notifier(settings, tmp_path, environ={"JOURNEY_SMTP": "smtp://127.0.0.1:1"})
    with pytest.raises(NotifyError, match=r"SMTP server 127\.0\.0\.1 refused the mail"):
        notifier.send([notifier.compose("x", ["a@b.example"], "x")])


def test_without_smtp_the_outbox_gets_an_eml_file(tmp_path: Path) -> None:
    notifier = Notifier(NotificationsConfig(), tmp_path / "outbox", environ={})
    assert notifier.description == f"the outbox folder {tmp_path / 'outbox'}"
    [delivery] = notifier.send([notifier.compose("Hello", ["a@b.example"], "Body\n")])
    assert delivery.via == "outbox"
    assert delivery.path is not None
    assert delivery.path.suffix == ".eml"
    assert message_from_bytes(delivery.path.read_bytes())["Subject"] == "Hello"
