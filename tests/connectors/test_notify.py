"""Notification delivery (``journey.connectors.notify``) against a real SMTP server on
127.0.0.1 (``tests/smtp_server.py``) and a real store file for the outbox: TLS verified,
no password in clear text, one message per letter whatever the server says, a letter never
sent again once accepted. The journey-level cases (through ``journey run``) are in
``tests/cli/test_notifications.py``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from journey.connectors.notify import (
    Letter,
    Notifier,
    Outbox,
    RecipientError,
    checked_address,
    header_text,
    message_id_for,
)
from journey.engine.config import NotificationsConfig
from journey.engine.store import NotificationOutbox, open_store
from journey.retry import RetrySchedule
from tests.smtp_server import smtp_server

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VAR = "JOURNEY_TEST_SMTP"


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield Outbox(store.engine)
    store.close()


def notifier(
    tmp_path: Path, url: str | None, *, retries: RetrySchedule | None = None, **settings: Any
) -> Notifier:
    config = NotificationsConfig.model_validate(
        {"smtp_url_env": VAR, "from": "Journeys <journeys@acme.example>", **settings}
    )
    extra = {"retries": retries} if retries else {}
    return Notifier(config, tmp_path / "outbox", environ={VAR: url} if url else {}, **extra)


def letters(mail: Notifier, count: int, to: str = "ops@acme.example") -> list[Letter]:
    return [
        mail.letter(f"run{i}:1", i, [to], f"New lead {i}", f"Contact {i}\n", NOW)
        for i in range(count)
    ]


def send(mail: Notifier, outbox: Outbox, drafts: list[Letter]) -> dict[str, Any]:
    stored = outbox.intend(drafts)
    return mail.deliver(outbox, [stored[d.key] for d in drafts], NOW)  # type: ignore[return-value]


def states(outbox: Outbox) -> dict[str, tuple[str, int]]:
    tbl = NotificationOutbox
    with outbox.engine.connect() as conn:
        return {r.key: (r.state, r.attempts) for r in conn.execute(sa.select(tbl))}


# ---- headers and addresses ----------------------------------------------------------------


def test_a_subject_with_line_breaks_stays_one_line() -> None:
    assert header_text("Hello\r\nBcc: attacker@evil.example\n\tx") == (
        "Hello Bcc: attacker@evil.example x"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "{{Email}}",
        "jo@acme.example\r\nBcc: attacker@evil.example",
        "jo@acme.example, attacker@evil.example",
        "Jo <jo@acme.example>",
        "jo@localhost",
        "jo..doe@acme.example",
        "jö@acme.example",
        "a" * 250 + "@acme.example",
    ],
)
def test_anything_but_one_plain_address_is_refused(value: str) -> None:
    with pytest.raises(RecipientError):
        checked_address(value)


def test_a_plain_address_is_taken_as_it_is() -> None:
    assert checked_address("  Jo.Doe+news@mail.acme.example ") == "Jo.Doe+news@mail.acme.example"


def test_the_message_id_comes_from_the_effect_key() -> None:
    assert message_id_for("run1:3") == message_id_for("run1:3")
    assert message_id_for("run1:3") != message_id_for("run1:4")
    assert message_id_for("run1:3").endswith("@journey>")


# ---- TLS and credentials ------------------------------------------------------------------


def test_starttls_is_verified_and_the_login_goes_over_it(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", starttls=True, auth=True) as server:
        url = f"smtp://journey:s3cret@127.0.0.1:{server.port}"
        mail = notifier(tmp_path, url, ca_file=str(server.ca_pem))
        [draft] = letters(mail, 1)
        outcome = send(mail, outbox, [draft])[draft.key]
        assert outcome.status == "sent"
        [received] = server.received
        assert received.tls
        assert server.logins == [("journey", "s3cret", True)]
        message = message_from_bytes(received.data)
        assert message["Message-ID"] == message_id_for("run0:1")
        assert message["From"] == "Journeys <journeys@acme.example>"
        assert received.sender == "journeys@acme.example"
    assert states(outbox) == {"run0:1": ("sent", 0)}


def test_an_untrusted_certificate_sends_nothing_and_says_so(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", starttls=True, auth=True) as server:
        mail = notifier(tmp_path, f"smtp://journey:s3cret@127.0.0.1:{server.port}")
        [draft] = letters(mail, 1)
        outcome = send(mail, outbox, [draft])[draft.key]
        assert (outcome.status, outcome.code) == ("retry", "SMTP_TLS_FAILED")
        assert "certificate does not verify" in outcome.message
        assert "s3cret" not in outcome.message
        assert server.received == []
        assert server.logins == []


def test_smtps_is_verified_from_the_first_byte(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", implicit_tls=True, auth=True) as server:
        url = f"smtps://journey:s3cret@127.0.0.1:{server.port}"
        untrusted = notifier(tmp_path, url)
        [draft] = letters(untrusted, 1)
        assert send(untrusted, outbox, [draft])[draft.key].code == "SMTP_TLS_FAILED"
        trusted = notifier(tmp_path, url, ca_file=str(server.ca_pem))
        assert send(trusted, outbox, [draft])[draft.key].status == "sent"
        assert [m.tls for m in server.received] == [True]


def test_no_password_in_clear_text_unless_allowed(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", starttls=False, auth=True) as server:
        url = f"smtp://journey:s3cret@127.0.0.1:{server.port}"
        mail = notifier(tmp_path, url)
        [draft] = letters(mail, 1)
        outcome = send(mail, outbox, [draft])[draft.key]
        assert (outcome.status, outcome.code) == ("retry", "SMTP_PLAINTEXT_REFUSED")
        assert "allow_plaintext" in outcome.message
        assert (server.logins, server.received) == ([], [])
        # The URL says it explicitly, or the project does.
        for allowed in (notifier(tmp_path, url + "?insecure=true"),):
            assert send(allowed, outbox, [draft])[draft.key].status == "sent"
        assert server.logins == [("journey", "s3cret", False)]
        [other] = letters(mail, 2)[1:]
        relaxed = notifier(tmp_path, url, allow_plaintext=True)
        assert send(relaxed, outbox, [other])[other.key].status == "sent"


def test_a_relay_without_credentials_needs_no_tls(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp") as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}")
        [draft] = letters(mail, 1)
        assert send(mail, outbox, [draft])[draft.key].status == "sent"
        assert len(server.received) == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:25", "smtp://", "smtp://h:notaport", "x"])
def test_a_bad_url_is_a_clear_error_without_the_url(
    tmp_path: Path, outbox: Outbox, url: str
) -> None:
    mail = notifier(tmp_path, url)
    [draft] = letters(mail, 1)
    outcome = send(mail, outbox, [draft])[draft.key]
    assert (outcome.status, outcome.code) == ("retry", "SMTP_SETTINGS")
    assert "smtp://user:password@host:587" in outcome.message


# ---- what the server says, per message ----------------------------------------------------


def test_451_after_three_per_connection_sends_each_once(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", defer_after=3) as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}")
        drafts = letters(mail, 10)
        outcomes = send(mail, outbox, drafts)
        assert {o.status for o in outcomes.values()} == {"sent"}
        counts = server.by_message_id()
        assert sorted(counts) == sorted(d.message_id for d in drafts)
        assert set(counts.values()) == {1}
        assert server.connections == 4
        # Sent is sent: delivering the same letters again hands nothing over.
        again = send(mail, outbox, drafts)
        assert {o.status for o in again.values()} == {"sent"}
        assert len(server.received) == 10


def test_a_deferring_server_is_retried_then_failed_with_its_answer(
    tmp_path: Path, outbox: Outbox
) -> None:
    with smtp_server(tmp_path / "smtp", defer_after=0) as server:
        mail = notifier(
            tmp_path, f"smtp://127.0.0.1:{server.port}", retries=RetrySchedule(3, first=60)
        )
        [draft] = letters(mail, 1)
        seen = [send(mail, outbox, [draft])[draft.key] for _ in range(3)]
        assert [o.status for o in seen] == ["retry", "retry", "failed"]
        assert "451" in seen[0].message
        assert "still not sent after 3 attempts" in seen[-1].message
        assert states(outbox) == {draft.key: ("failed", 3)}
        assert server.received == []
        # Failed is final: a later call does not try again.
        assert send(mail, outbox, [draft])[draft.key].status == "failed"
        assert server.connections == 3


def test_550_fails_that_letter_only(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", refuse=frozenset({"gone@acme.example"})) as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}")
        good = letters(mail, 2)
        bad = mail.letter("run9:1", 9, ["gone@acme.example"], "S", "B\n", NOW)
        outcomes = send(mail, outbox, [good[0], bad, good[1]])
        assert [outcomes[d.key].status for d in (good[0], bad, good[1])] == [
            "sent",
            "failed",
            "sent",
        ]
        assert "550" in outcomes[bad.key].message
        assert len(server.received) == 2


def test_a_refused_copy_is_named_and_the_rest_delivered(tmp_path: Path, outbox: Outbox) -> None:
    with smtp_server(tmp_path / "smtp", refuse=frozenset({"gone@acme.example"})) as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}")
        draft = mail.letter("run1:1", 1, ["ops@acme.example", "gone@acme.example"], "S", "B", NOW)
        outcome = send(mail, outbox, [draft])[draft.key]
        assert outcome.status == "sent"
        assert "550" in outcome.refused["gone@acme.example"]
        assert [m.recipients for m in server.received] == [("ops@acme.example",)]


def test_a_pending_letter_is_resent_as_the_same_message(tmp_path: Path, outbox: Outbox) -> None:
    """A crash after the intent and before the outcome: the letter is still pending; the
    next call sends it, byte for byte the message the first one would have sent."""
    with smtp_server(tmp_path / "smtp") as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}")
        [draft] = letters(mail, 1)
        outbox.intend([draft])
        # The journey's subject changed since: the stored letter still wins.
        changed = mail.letter(draft.key, 0, ["other@acme.example"], "Changed", "x", NOW)
        stored = outbox.intend([changed])[draft.key]
        assert mail.deliver(outbox, [stored], NOW)[draft.key].status == "sent"
        [received] = server.received
        assert received.recipients == ("ops@acme.example",)
        assert received.subject == "New lead 0"
        assert received.message_id == draft.message_id


def test_settled_letters_are_forgotten_after_the_journal_days_pending_ones_never(
    tmp_path: Path, outbox: Outbox
) -> None:
    """Sent and failed letters keep whole bodies: they go when the connector's journal
    forgets its requests; a pending one stays however old, so it is still sent."""
    mail = notifier(tmp_path, None)
    sent, failed, pending = letters(mail, 3)
    outbox.intend([sent, failed, pending])
    outbox.sent(sent.key, "folder", None, NOW)
    outbox.failed(failed.key, 1, "550 no such user")
    assert outbox.prune(NOW) == 0  # written at NOW: nothing is older
    assert outbox.prune(NOW + timedelta(days=31)) == 2
    assert states(outbox) == {pending.key: ("pending", 0)}


def test_a_silent_server_times_out_instead_of_hanging(tmp_path: Path, outbox: Outbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never says a word
        port = listener.getsockname()[1]
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{port}", timeout_seconds=0.5)
        [draft] = letters(mail, 1)
        outcome = send(mail, outbox, [draft])[draft.key]
    assert (outcome.status, outcome.code) == ("retry", "SMTP_UNREACHABLE")
    assert "timed out" in outcome.message


def test_a_server_that_stops_answering_costs_one_timeout_not_one_per_letter(
    tmp_path: Path, outbox: Outbox
) -> None:
    # It answers each message's data a second late; we wait 0.3 s for an answer.
    with smtp_server(tmp_path / "smtp", delay=1.0) as server:
        mail = notifier(tmp_path, f"smtp://127.0.0.1:{server.port}", timeout_seconds=0.3)
        drafts = letters(mail, 3)
        outcomes = send(mail, outbox, drafts)
        assert [outcomes[d.key].status for d in drafts] == ["retry"] * 3
        assert "timed out" in str(outcomes[drafts[0].key].message)
        assert server.connections == 1
        # The next attempt sends the same message: a server that took it late dedupes.
        assert set(states(outbox).values()) == {("pending", 1)}


def test_an_unreachable_server_is_a_setback_for_each_letter(tmp_path: Path, outbox: Outbox) -> None:
    mail = notifier(tmp_path, "smtp://127.0.0.1:1")
    drafts = letters(mail, 2)
    outcomes = send(mail, outbox, drafts)
    assert {(o.status, o.code) for o in outcomes.values()} == {("retry", "SMTP_UNREACHABLE")}
    assert set(states(outbox).values()) == {("pending", 1)}


# ---- without SMTP: the folder ---------------------------------------------------------------


def test_without_smtp_each_letter_is_one_eml_file(tmp_path: Path, outbox: Outbox) -> None:
    mail = notifier(tmp_path, None)
    assert mail.description == f"the outbox folder {tmp_path / 'outbox'}"
    [draft] = letters(mail, 1)
    outcome = send(mail, outbox, [draft])[draft.key]
    assert outcome.status == "sent"
    path = Path(str(outcome.letter.location))
    assert path.parent == tmp_path / "outbox"
    message = message_from_bytes(path.read_bytes())
    assert (message["Subject"], message["Message-ID"]) == ("New lead 0", draft.message_id)
    send(mail, outbox, [draft])
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [path.name]


def test_the_description_never_shows_the_password(tmp_path: Path) -> None:
    mail = notifier(tmp_path, "smtp://journey:s3cret@mail.acme.example:587")
    assert mail.description == "SMTP (mail.acme.example)"
