"""``CapturedNotifier``: the notifier's twin for dry runs (``connectors.scratch``) —
messages are composed exactly as they would be, and recorded instead of sent or written
to the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from journey.connectors.notify.delivery import Notifier, Outcome
from journey.connectors.notify.message import Letter
from journey.connectors.notify.outbox import Outbox

__all__ = ["CapturedNotifier"]


class CapturedNotifier(Notifier):
    """Composes and checks every letter as the notifier does (recipients, headers, the
    Message-ID from the effect key); ``deliver`` records them as sent instead of mailing
    or writing them, so a dry run shows each email the real run would send."""

    def __init__(self, notifier: Notifier) -> None:
        super().__init__(notifier.settings, notifier.outbox, environ={}, root=notifier.root)
        self.sent: list[Letter] = []

    def deliver(
        self, outbox: Outbox, letters: Sequence[Letter], now: datetime
    ) -> dict[str, Outcome]:
        self.sent.extend(letters)
        return {letter.key: Outcome("sent", letter) for letter in letters}
