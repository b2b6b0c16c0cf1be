"""Delivering letters exactly once: the outbox first, then the server, then the outbox again.

Pipeline position: connector → **delivery** (``Notifier.deliver``) → ``smtp`` or the
``.journey/outbox/`` folder, with ``outbox`` recording each letter's state.

The guarantee, and its one limit. SMTP has no idempotency key: a server that accepted a
message and lost the connection before we read its ``250`` has it, and we cannot know. So
delivery is at-least-once at the SMTP boundary, made exactly-once for the reader by two
things: every attempt sends the *same* message with the *same* Message-ID (derived from the
effect key, stored with the letter), which receivers deduplicate; and a letter is marked
``sent`` the moment its own ``250`` arrives, so a crash can repeat at most the one message
in flight. A letter marked ``sent`` is never handed over again; one marked ``failed`` never
either. Each message goes out under its letter's hold (``Outbox.hold``), so two workers
never hand over the same letter: the second finds it sent.

Per letter, on one connection for the whole batch:

* accepted → ``sent`` (recipients the server refused while taking it are named);
* 5xx → ``failed`` at once, the server's answer as the reason;
* 4xx, or the connection lost mid-message: on a connection that already took messages,
  once more on a fresh connection (servers cap messages per connection — "451 after 3");
  otherwise a *setback*: counted, ``retry`` for the engine's step retry
  (``journey.retry.STEP_RETRIES``), ``failed`` when the schedule is spent;
* no usable connection at all (unreachable, TLS that does not verify, a password that
  would go in clear text, a bad URL, or a fresh connection lost before it took one
  message) → a setback for every letter still to send, the reason in each contact's feed,
  rather than one timeout per letter.

Without an SMTP URL the letters are written to ``.journey/outbox/<message-id>.eml``
(atomically, by a rename: the same letter always lands in the same file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from journey.connectors.notify.message import (
    Letter,
    compose,
    envelope_sender,
    header_text,
    message_id_for,
)
from journey.connectors.notify.outbox import Held, Outbox
from journey.connectors.notify.smtp import SmtpError, SmtpSession, SmtpTarget
from journey.engine.config import NotificationsConfig
from journey.retry import STEP_RETRIES, RetrySchedule

__all__ = ["Notifier", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """A letter's fate in this call: ``sent`` (now or before), ``failed`` for good, or
    ``retry`` (the step retry comes back)."""

    status: Literal["sent", "failed", "retry"]
    letter: Letter
    code: str | None = None
    message: str | None = None
    refused: Mapping[str, str] = field(default_factory=dict)


class Notifier:
    """Where notification mail goes (``[notifications]``; the SMTP URL from the variable
    ``smtp_url_env`` names, else the outbox folder)."""

    def __init__(
        self,
        settings: NotificationsConfig,
        outbox: Path,
        environ: Mapping[str, str] | None = None,
        *,
        root: Path | None = None,
        retries: RetrySchedule = STEP_RETRIES,
    ) -> None:
        env = os.environ if environ is None else environ
        self.settings = settings
        self.sender = header_text(settings.from_)
        self.outbox = outbox
        self.retries = retries
        #: A relative ``ca_file`` is the project's: relative to ``root``.
        self.root = root
        self._smtp_url = env.get(settings.smtp_url_env) if settings.smtp_url_env else None

    @property
    def description(self) -> str:
        if self._smtp_url:
            try:
                return f"SMTP ({self._target().host})"
            except SmtpError:
                return "SMTP (a URL that does not parse)"
        return f"the outbox folder {self.outbox}"

    def letter(
        self,
        key: str,
        contact_id: int,
        recipients: Sequence[str],
        subject: str,
        body: str,
        now: datetime,
    ) -> Letter:
        """A new letter for effect ``key``, checked by composing it once (``ValueError``
        for what the email package refuses)."""
        draft = Letter(
            key=key,
            contact_id=contact_id,
            message_id=message_id_for(key),
            sender=self.sender,
            recipients=tuple(recipients),
            subject=header_text(subject),
            # NUL is no character of a text email (RFC 5322 §2.3) and PostgreSQL refuses it.
            body=body.replace("\x00", ""),
            created_at=now.replace(microsecond=0),
        )
        compose(draft)
        return draft

    def deliver(
        self, outbox: Outbox, letters: Sequence[Letter], now: datetime
    ) -> dict[str, Outcome]:
        """Send what is still pending of ``letters`` (as ``outbox.intend`` returned them);
        one outcome per letter."""
        outcomes: dict[str, Outcome] = {}
        todo: list[Letter] = []
        for letter in letters:
            if letter.state == "pending":
                todo.append(letter)
            else:
                outcomes[letter.key] = _settled(letter)
        if not todo:
            return outcomes
        if not self._smtp_url:
            for letter in todo:
                outcomes[letter.key] = self._to_folder(outbox, letter, now)
            return outcomes
        try:
            target = self._target()
        except SmtpError as error:
            for letter in todo:
                outcomes[letter.key] = self._setback(
                    Held(outbox, letter.key), letter, error.code, str(error), now
                )
            return outcomes
        outcomes.update(self._smtp(outbox, target, todo, now))
        return outcomes

    # ---- the two ways out -----------------------------------------------------------------
    def _to_folder(self, outbox: Outbox, letter: Letter, now: datetime) -> Outcome:
        name = re.sub(r"[^A-Za-z0-9.@-]", "", letter.message_id.strip("<>")) + ".eml"
        path = self.outbox / name
        try:
            data = compose(letter, smtp=False)
        except ValueError as error:  # a letter stored by an older release
            return self._refused(Held(outbox, letter.key), letter, str(error))
        try:
            self.outbox.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".eml.partial")
            partial.write_bytes(data)
            partial.replace(path)
        except OSError as error:
            return self._setback(
                Held(outbox, letter.key),
                letter,
                "OUTBOX_UNWRITABLE",
                f"cannot write {path}: {error.strerror}",
                now,
            )
        outbox.sent(letter.key, "folder", str(path), now)
        return Outcome("sent", _as(letter, "sent", via="folder", location=str(path)))

    def _smtp(
        self, outbox: Outbox, target: SmtpTarget, todo: Sequence[Letter], now: datetime
    ) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        sender = envelope_sender(self.sender)
        session: SmtpSession | None = None

        #: (code, reason) when the server is not usable: the letters after this one wait
        #: for the step retry — set back once this letter's hold is let go (one lock at
        #: a time, so two workers never wait on each other's).
        unusable: tuple[str, str] | None = None

        try:
            for index, drafted in enumerate(todo):
                with outbox.hold(drafted.key) as held:
                    letter = held.letter or drafted
                    if letter.state != "pending":
                        # Another worker settled it while this one waited for the hold.
                        outcomes[letter.key] = _settled(letter)
                        continue
                    try:
                        data = compose(letter)
                    except ValueError as error:  # a letter stored by an older release
                        outcomes[letter.key] = self._refused(held, letter, str(error))
                        continue
                    fresh_try = False
                    while True:
                        if session is None:
                            session = SmtpSession(target)
                            try:
                                session.open()
                            except SmtpError as error:
                                session = None
                                outcomes[letter.key] = self._setback(
                                    held, letter, error.code, str(error), now
                                )
                                unusable = (error.code, str(error))
                                break
                        handover = session.send(sender, letter.recipients, data)
                        if handover.status == "accepted":
                            held.sent("smtp", None, now)
                            outcomes[letter.key] = Outcome(
                                "sent", _as(letter, "sent", via="smtp"), refused=handover.refused
                            )
                            break
                        if handover.status != "permanent" and session.sent > 0 and not fresh_try:
                            # The server took messages on this connection and now defers or
                            # drops: a per-connection cap. Go on with a fresh connection.
                            session.close()
                            session, fresh_try = None, True
                            continue
                        reason = f"the SMTP server {target.host} said: {handover.error}"
                        if handover.status == "lost" and session.sent == 0:
                            # Not one message through a fresh connection: the server is not
                            # usable now. The rest wait for the step retry rather than a
                            # timeout each.
                            session.close()
                            session = None
                            outcomes[letter.key] = self._setback(
                                held, letter, "NOTIFICATION_DEFERRED", reason, now
                            )
                            unusable = ("NOTIFICATION_DEFERRED", reason)
                            break
                        if handover.status == "permanent":
                            outcomes[letter.key] = self._refused(held, letter, reason)
                        else:
                            outcomes[letter.key] = self._setback(
                                held, letter, "NOTIFICATION_DEFERRED", reason, now
                            )
                        if handover.status == "lost" or not session.alive:
                            # (a timeout leaves the conversation in an unknown state)
                            session.close()
                            session = None
                        break
                if unusable is not None:
                    code, reason = unusable
                    for other in todo[index + 1 :]:
                        outcomes[other.key] = self._setback(
                            Held(outbox, other.key), other, code, reason, now
                        )
                    break
        finally:
            if session is not None:
                session.close()
        return outcomes

    # ---- bookkeeping ----------------------------------------------------------------------
    def _setback(
        self, held: Held, letter: Letter, code: str, reason: str, now: datetime
    ) -> Outcome:
        """A transient failure, counted; ``failed`` once the step retries are spent."""
        attempts = letter.attempts + 1
        if self.retries.exhausted(attempts):
            why = f"still not sent after {attempts} attempts: {reason}"
            held.failed(attempts, why)
            return Outcome("failed", _as(letter, "failed"), code, why)
        retry_at = now + timedelta(seconds=self.retries.delay(attempts))
        held.setback(attempts, reason, retry_at)
        return Outcome("retry", letter, code, reason)

    def _refused(self, held: Held, letter: Letter, reason: str) -> Outcome:
        """Refused for good: never tried again."""
        held.failed(letter.attempts + 1, reason)
        return Outcome("failed", _as(letter, "failed"), "NOTIFICATION_REFUSED", reason)

    def _target(self) -> SmtpTarget:
        assert self._smtp_url is not None
        s = self.settings
        return SmtpTarget.from_url(
            self._smtp_url,
            allow_plaintext=s.allow_plaintext,
            timeout=s.timeout_seconds,
            ca_file=str(self.root / s.ca_file) if s.ca_file and self.root else s.ca_file,
        )


def _settled(letter: Letter) -> Outcome:
    """The outcome of a letter already sent or failed for good."""
    if letter.state == "sent":
        return Outcome("sent", letter)
    return Outcome("failed", letter, "NOTIFICATION_REFUSED", letter.last_error)


def _as(
    letter: Letter, state: str, *, via: str | None = None, location: str | None = None
) -> Letter:
    return replace(letter, state=state, via=via or letter.via, location=location or letter.location)
