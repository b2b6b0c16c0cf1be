"""``send notification`` through the CLI: ``journey run`` (in-process) and ``journey worker``
(subprocesses, killed with SIGKILL) on a project whose embedded org holds the records a real
org brings (``tests/existing_org.py``), mailing a real SMTP server in this process
(``tests/smtp_server.py``).

What a user would notice: one contact's odd data never stops the others' mail; nobody but
the org's owner of the record gets the owner's copy; ``to "{{Email}}"`` reaches the
contact; a server that defers after three messages per connection, or a worker killed
mid-send, still leaves exactly one message per contact (by Message-ID); no mail and no
password goes to a server whose certificate does not verify, or in clear text.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed
from tests.smtp_server import SmtpServer, smtp_server

VAR = "JOURNEY_TEST_SMTP"
ATTACKER = "attacker@evil.example"
LATER = "2026-03-02T09:10:00+00:00"  # past the first step retry (5 minutes)

FORM_JOURNEY = """journey "Demo requests"

trigger form submitted "Demo"

send notification "Demo: {{Topic}}" to "{{Email}}"
"""

OWNER_JOURNEY = """journey "Owner copy"

trigger form submitted "Demo"

add to list "Salesforce Leads"
send notification "Demo request from {{Email}}" to "ops@acme.example" also to lead owner
"""

LIST_JOURNEY = """journey "Welcome"

trigger added to list "L"

send notification "Welcome {{Email}}" to "{{Email}}"
"""


def make_project(
    root: Path, journey: str, notifications: str = "", seed: dict[str, Any] | None = None
) -> Path:
    """A project on the existing org's seed, mail through ``$JOURNEY_TEST_SMTP``."""
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "journeys" / "notify.journey").write_text(journey)
    (root / "seed.json").write_text(json.dumps(seed or existing_seed()))
    (root / "journey.toml").write_text(
        '[salesforce]\nseed = "seed.json"\n\n[fields]\n"Topic" = "Text"\n\n'
        f'[notifications]\nsmtp_url_env = "{VAR}"\nfrom = "journeys@acme.example"\n'
        f"{notifications}"
    )
    return root


def submit(email: str, **fields: str) -> None:
    args = [f"--field={name.replace('_', ' ')}={value}" for name, value in fields.items()]
    sup.journey("event", "form-submitted", "Demo", "--email", email, *args, "--now", sup.NOW)


def to_headers(server: SmtpServer) -> list[str]:
    return [str(message_from_bytes(m.data)["To"]) for m in server.received]


def test_one_contacts_line_break_never_blocks_the_others_and_to_is_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tmp_path / "smtp", starttls=True, auth=True) as server:
        root = make_project(tmp_path / "project", FORM_JOURNEY, f'ca_file = "{server.ca_pem}"\n')
        monkeypatch.chdir(root)
        monkeypatch.setenv(VAR, f"smtp://journey:s3cret@127.0.0.1:{server.port}")
        bad_address = f"pat@home.example\r\nBcc: {ATTACKER}"
        submit("ann@prospect.example", Topic="Pricing")
        submit("lee@prospect.example", Topic=f"Hi\r\nBcc: {ATTACKER}")
        submit(bad_address, Topic="Anything")
        submit("kim@prospect.example", Topic="Later")
        summary = sup.run(code=1)  # exit 1: a run failed — only that one
        assert (summary["entered"], summary["ended"], summary["failed"]) == (4, 4, 1)

        assert sorted(m.recipients for m in server.received) == [
            ("ann@prospect.example",),
            ("kim@prospect.example",),
            ("lee@prospect.example",),
        ]
        assert sorted(to_headers(server)) == [
            "ann@prospect.example",
            "kim@prospect.example",
            "lee@prospect.example",
        ]
        subjects = {m.recipients[0]: message_from_bytes(m.data) for m in server.received}
        folded = subjects["lee@prospect.example"]
        assert folded["Subject"] == f"Demo: Hi Bcc: {ATTACKER}"
        assert folded["Bcc"] is None
        assert all(ATTACKER not in m.recipients for m in server.received)
        [raw] = [m.data for m in server.received if m.recipients == ("lee@prospect.example",)]
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert not any(line.lower().startswith(b"bcc") for line in head.splitlines())
        [(outcome, detail)] = sup.feed(bad_address)
        assert outcome == "failed"
        assert "INVALID_RECIPIENT" in detail
        assert "line break" in detail
        assert [o for o, _ in sup.feed("lee@prospect.example")] == ["done"]
        # Nothing is sent twice by a later pass.
        sup.run(LATER)
        assert len(server.received) == 3


def test_the_owner_copy_goes_to_the_owner_the_org_knows_never_a_typed_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = existing_seed()
    # A queue with no email of its own, and a Lead waiting in it.
    seed["Group"].append({"Name": "Night Queue", "Type": "Queue", "members": [PEOPLE["eva"]]})
    seed["Lead"].append(
        {
            "LastName": "Night",
            "Company": "Owl Inc",
            "Email": "night@prospect.example",
            "OwnerId": "Night Queue",
        }
    )
    with smtp_server(tmp_path / "smtp") as server:
        root = make_project(tmp_path / "project", OWNER_JOURNEY, seed=seed)
        monkeypatch.chdir(root)
        monkeypatch.setenv(VAR, f"smtp://127.0.0.1:{server.port}")
        # Each contact claims the attacker as its Lead Owner; the org says otherwise.
        for email in (PEOPLE["owned"], PEOPLE["queued"], "new@fresh.example"):
            submit(email, Lead_Owner=ATTACKER, Topic="x")
        submit("night@prospect.example", Lead_Owner=ATTACKER, Topic="x")
        summary = sup.run()
        assert (summary["ended"], summary["failed"]) == (4, 0)
        new_owner = sup.query(
            root, "SELECT Owner.Email FROM Lead WHERE Email = 'new@fresh.example'"
        )
        got = {m.subject.removeprefix("Demo request from "): m.recipients for m in server.received}
        assert got == {
            PEOPLE["owned"]: ("ops@acme.example", PEOPLE["bob"]),  # Bob's Lead in the org
            PEOPLE["queued"]: ("ops@acme.example", PEOPLE["queue"]),  # the queue's email
            "new@fresh.example": ("ops@acme.example", new_owner[0]["Owner.Email"]),
            "night@prospect.example": ("ops@acme.example",),  # nobody to copy
        }
        assert new_owner[0]["Owner.Email"] != ATTACKER
        assert all(ATTACKER not in header for header in to_headers(server))
        night = sup.contact("night@prospect.example")["activity"]
        [sent] = [a for a in night if a["kind"] == "action" and "send notification" in a["detail"]]
        assert "no lead owner copy" in json.dumps(sent)


def test_451_after_three_messages_per_connection_still_one_message_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tmp_path / "smtp", defer_after=3) as server:
        root = make_project(tmp_path / "project", LIST_JOURNEY)
        monkeypatch.chdir(root)
        monkeypatch.setenv(VAR, f"smtp://127.0.0.1:{server.port}")
        emails = [f"c{i}@batch.example" for i in range(10)]
        sup.import_contacts(root, [{"Email": e} for e in emails])
        summary = sup.run()
        assert (summary["ended"], summary["failed"]) == (10, 0)
        assert sorted(m.recipients[0] for m in server.received) == sorted(emails)
        assert set(server.by_message_id().values()) == {1}
        assert server.connections == 4  # 3 + 3 + 3 + 1, a fresh connection after each 451
        sup.run(LATER)
        assert len(server.received) == 10


def test_an_untrusted_certificate_gets_no_mail_and_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tmp_path / "smtp", starttls=True, auth=True) as server:
        root = make_project(tmp_path / "project", FORM_JOURNEY)  # no ca_file: not trusted
        monkeypatch.chdir(root)
        monkeypatch.setenv(VAR, f"smtp://journey:s3cret@127.0.0.1:{server.port}")
        submit("ann@prospect.example", Topic="Pricing")
        summary = sup.run()
        assert summary["failed"] == 0  # kept for the next attempt, not lost
        assert (server.received, server.logins) == ([], [])
        [(outcome, detail)] = sup.feed("ann@prospect.example")
        assert outcome == "retry"
        assert "certificate does not verify" in detail
        assert "s3cret" not in detail


def test_no_password_in_clear_text_until_the_project_allows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tmp_path / "smtp", starttls=False, auth=True) as server:
        root = make_project(tmp_path / "project", FORM_JOURNEY)
        monkeypatch.chdir(root)
        monkeypatch.setenv(VAR, f"smtp://journey:s3cret@127.0.0.1:{server.port}")
        submit("ann@prospect.example", Topic="Pricing")
        sup.run()
        assert (server.received, server.logins) == ([], [])
        [(outcome, detail)] = sup.feed("ann@prospect.example")
        assert outcome == "retry"
        assert "offers no STARTTLS" in detail
        assert "allow_plaintext" in detail
        # The user decides it is fine on this network: the retry sends it.
        with (root / "journey.toml").open("a") as toml:
            toml.write("allow_plaintext = true\n")
        sup.run(LATER)
        assert [m.recipients for m in server.received] == [("ann@prospect.example",)]
        assert server.logins == [("journey", "s3cret", False)]


# ---- kill -9 while sending ------------------------------------------------------------------

KILL_CONTACTS = 30
KILL_TRIALS = 2


def _worker(root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(sup.JOURNEY_BIN), "worker", "--poll", "0.05", "--exit-when-idle"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_trial(root: Path, server: SmtpServer, env: dict[str, str], rng: random.Random) -> int:
    """Workers killed with SIGKILL at random moments of the sending, then one left to
    finish; returns the number of kills."""
    kills = 0
    while kills < 3:
        worker = _worker(root, env)
        target = len(server.received) + rng.randint(1, 8)
        deadline = time.monotonic() + 60  # a bound against a hang, not a timing
        while worker.poll() is None and len(server.received) < target:
            assert time.monotonic() < deadline, "the worker sent nothing for a minute"
            time.sleep(0.005)
        # Land inside a message: during its data, before or after the server's 250.
        time.sleep(rng.uniform(0, server.behaviour.delay * 2))
        if worker.poll() is not None:
            _, err = worker.communicate()
            assert worker.returncode == 0, err.decode()
            break
        worker.send_signal(signal.SIGKILL)
        worker.communicate()
        kills += 1
    done = subprocess.run(
        [str(sup.JOURNEY_BIN), "run", "--until-idle"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return kills


def _fresh_database(request: pytest.FixtureRequest) -> str:
    """A new PostgreSQL database on the session's server, one per trial."""
    import psycopg

    server = str(request.getfixturevalue("postgres_server"))
    name = "kill_" + uuid.uuid4().hex[:12]
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kill_9_during_notifications_leaves_one_message_per_contact(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "11")))
    trials = KILL_TRIALS
    report = []
    for trial in range(trials):
        with smtp_server(tmp_path / f"smtp{trial}", delay=0.02) as server:
            root = make_project(tmp_path / f"project{trial}", LIST_JOURNEY)
            env = {k: v for k, v in os.environ.items() if k != "JOURNEY_CONNECTOR"}
            env[VAR] = f"smtp://127.0.0.1:{server.port}"
            if store == "postgres":
                env["JOURNEY_DATABASE_URL"] = _fresh_database(request)
            else:
                env.pop("JOURNEY_DATABASE_URL", None)
            emails = [f"t{trial}c{i}@batch.example" for i in range(KILL_CONTACTS)]
            rows = "Email\n" + "\n".join(emails) + "\n"
            (root / "contacts.csv").write_text(rows)
            imported = subprocess.run(
                [str(sup.JOURNEY_BIN), "contacts", "import", "contacts.csv", "--list", "L"],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert imported.returncode == 0, imported.stderr
            kills = _kill_trial(root, server, env, rng)
            per_contact: dict[str, set[str]] = {}
            for message in server.received:
                per_contact.setdefault(message.recipients[0], set()).add(message.message_id)
            copies = server.by_message_id()
            doubled = sum(count - 1 for count in copies.values())
            report.append((trial, kills, len(server.received), len(copies), doubled))
            # Exactly one message per contact by Message-ID; a copy only for a kill that
            # landed between the server's 250 and the outbox's record of it.
            assert sorted(per_contact) == sorted(emails)
            assert {len(ids) for ids in per_contact.values()} == {1}
            assert doubled <= kills
    print(f"\n{store}: (trial, kills, deliveries, distinct Message-IDs, repeated)", report)
