"""One process of the connector's multi-process tests (``test_state_processes``): it opens
the shared store as a worker does, waits for the start signal (a file), does its part, and
prints one JSON line of what it did.

    python -m tests.connectors.state_process turns STORE_URL GO_FILE CALLS
    python -m tests.connectors.state_process calls STORE_URL GO_FILE INSTANCE SESSION CA SHARE
    python -m tests.connectors.state_process letters STORE_URL GO_FILE SMTP_URL COUNT FOLDER
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from journey.connectors.notify import Letter, Notifier, Outbox
from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.errors import Backoff, PausedError
from journey.connectors.salesforce.state import ConnectorState
from journey.engine.config import NotificationsConfig

GROUP = "SDRs"
USERS = ["ann@acme.example", "bob@acme.example", "cara@acme.example"]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SMTP_VAR = "JOURNEY_TEST_SMTP"


def letter_notifier(smtp_url: str, folder: Path) -> Notifier:
    settings = NotificationsConfig.model_validate(
        {"smtp_url_env": SMTP_VAR, "from": "journeys@acme.example", "timeout_seconds": 10}
    )
    return Notifier(settings, folder, environ={SMTP_VAR: smtp_url})


def letters_for(notifier: Notifier, count: int) -> list[Letter]:
    return [
        notifier.letter(f"run{i}:notify", i, [f"c{i}@join.example"], f"Hello {i}", "Hi\n", NOW)
        for i in range(count)
    ]


def _wait_for(go: Path) -> None:
    deadline = time.monotonic() + 60  # a bound against a hang
    while not go.exists():
        assert time.monotonic() < deadline, "never told to start"
        time.sleep(0.01)


def main(argv: list[str]) -> None:
    kind, url, go = argv[0], argv[1], Path(argv[2])
    state = ConnectorState(url)
    rng = random.Random()
    _wait_for(go)
    if kind == "turns":
        picks: list[str] = []
        for _ in range(int(argv[3])):
            picks += state.take_turns(GROUP, USERS, rng.randint(1, 3))
        print(json.dumps({"picks": picks}))
    elif kind == "calls":
        instance, session, ca, share = argv[3], argv[4], argv[5], float(argv[6])
        budget = ApiBudget(state, share)
        endpoint = Endpoint(instance, "59.0", session_id=session, ca_file=Path(ca))
        client = connect(endpoint, hooks=[budget.hook])
        api = OrgApi(client, budget, backoff=Backoff(attempts=1))
        paused = None
        while paused is None:
            try:
                api.call(lambda: client.query("SELECT Id FROM User LIMIT 1"))
            except PausedError as problem:
                paused = problem.code
            finally:
                budget.save()  # as the connector does after each batch
        print(json.dumps({"made": budget.calls, "paused": paused}))
    elif kind == "letters":
        notifier = letter_notifier(argv[3], Path(argv[5]))
        outbox = Outbox(state.engine)
        stored = outbox.intend(letters_for(notifier, int(argv[4])))
        outcomes = notifier.deliver(outbox, list(stored.values()), NOW)
        print(json.dumps({"outcomes": sorted(o.status for o in outcomes.values())}))
    state.close()


if __name__ == "__main__":
    main(sys.argv[1:])
