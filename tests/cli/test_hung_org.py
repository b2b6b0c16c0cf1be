"""A hung org: ``journey run`` (a subprocess, as a user runs it) against an org that accepts
connections and never answers must come back on its own — every call is bounded by
``[salesforce] read_timeout`` and tried per ``CALL_RETRIES`` — with the runs left to
try again later: not failed, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from journey.connectors.salesforce.batching import OrgApi
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import Endpoint, connect
from journey.connectors.salesforce.errors import Backoff, TransientError
from journey.connectors.salesforce.records import AUTO_ASSIGN_FALSE
from journey.connectors.salesforce.state import ConnectorState
from journey.emulator import EmulatedOrg
from journey.emulator.faults import reads_only
from journey.engine.store import open_store
from journey.retry import CALL_RETRIES
from tests.cli import actions_support as sup
from tests.existing_org import PEOPLE, existing_seed
from tests.faults import Rule, faulty_proxy

READ_TIMEOUT = 1
JOURNEY = """journey "Inbound"

trigger added to list "Website Leads"

add to list "Salesforce Leads"
"""


@pytest.mark.parametrize("hangs", ["writes", "everything"])
def test_a_hung_org_gives_a_bounded_run_and_runs_left_to_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hangs: str
) -> None:
    """Writes that hang: the step comes back ``retry`` (exit 0). Reads that hang too: the
    contacts' records cannot be read before anything decides (link = read), so the pass
    stops as paused (exit 3) with every run still due. Either way: bounded, nothing
    failed, nothing lost."""
    people = ["hung1@prospect.example", "hung2@prospect.example", PEOPLE["owned"]]
    with EmulatedOrg(tmp_path / "org", seed=existing_seed()) as org:
        endpoint = org.start()
        with faulty_proxy(endpoint.instance_url, tmp_path / "org") as proxy:
            root = tmp_path / "project"
            (root / "journeys").mkdir(parents=True)
            (root / "journeys" / "inbound.journey").write_text(JOURNEY)
            (root / "journey.toml").write_text(
                "[salesforce]\n"
                f'instance_url = "{proxy.url}"\n'
                'session_id_env = "TEST_SF_SESSION"\n'
                f'ca_file = "{endpoint.ca_file}"\n'
                f"connect_timeout = {READ_TIMEOUT}\n"
                f"read_timeout = {READ_TIMEOUT}\n"
            )
            monkeypatch.setenv("TEST_SF_SESSION", endpoint.session_id)
            monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
            monkeypatch.chdir(root)
            sup.import_contacts(root, [{"Email": e} for e in people], "Website Leads")
            if hangs == "writes":
                # Writes only: the contacts' records are read by Composite POSTs of GETs.
                writes = lambda method, path, body: not reads_only(method, path, body)  # noqa: E731
                proxy.add(Rule("hang", predicate=writes, every=True))
            else:
                proxy.add(Rule("hang", every=True))
            # Every call waits at most read_timeout per try; the bound below is that times
            # the tries, the waits between them, and the process's own start-up.
            bound = READ_TIMEOUT * CALL_RETRIES.attempts + CALL_RETRIES.worst_case() + 60
            finished = subprocess.run(
                [str(sup.JOURNEY_BIN), "run", "--until-idle", "--now", sup.NOW, "--json"],
                cwd=root,
                env={k: v for k, v in os.environ.items() if k != "JOURNEY_DATABASE_URL"},
                capture_output=True,
                text=True,
                timeout=bound,
            )
            assert finished.returncode == (0 if hangs == "writes" else 3), finished.stderr
            report = json.loads(finished.stdout)
            assert proxy.seen, "the run never reached the org"
            assert "hang" in {s.fault for s in proxy.seen}
            assert report["failed"] == 0
        # Nothing reached the org, nothing failed: every run waits for its retry.
        leads = org.client().query("SELECT Id FROM Lead WHERE Email LIKE 'hung%'")
        assert leads["records"] == []
    for email in people:
        shown = sup.contact(email)
        if hangs == "writes" and email == PEOPLE["owned"]:
            # Read before the step (reads answer): already a Salesforce Lead, no write.
            assert shown["runs"][0]["status"] == "completed"
            continue
        assert shown["runs"][0]["status"] == "active"
        outcomes = [outcome for outcome, _ in sup.feed(email)]
        assert "failed" not in outcomes
        if hangs == "writes":
            assert "retry" in outcomes
            details = " ".join(detail for _, detail in sup.feed(email))
            assert "no answer within [salesforce] read_timeout" in details


def test_bulk_2_and_soap_calls_are_bounded_too(tmp_path: Path) -> None:
    """The bound is the session's, so it holds for what simple-salesforce does on its own
    (a Bulk 2.0 job: create, upload, poll) and for our SOAP ``convertLead``: each gives up
    after its tries, a conversion in doubt saying so."""
    with EmulatedOrg(tmp_path / "org", seed=existing_seed()) as org:
        endpoint = org.start()
        [lead] = org.client().query(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['owned']}'")[
            "records"
        ]
        with faulty_proxy(endpoint.instance_url, tmp_path / "org") as proxy:
            url = f"sqlite:///{tmp_path / 'state.db'}"
            open_store(url).close()
            state = ConnectorState(url)
            budget = ApiBudget(state, 0.5)
            client = connect(
                Endpoint(
                    proxy.url,
                    endpoint.version,
                    session_id=endpoint.session_id,
                    ca_file=endpoint.ca_file,
                    connect_timeout=READ_TIMEOUT,
                    read_timeout=READ_TIMEOUT,
                ),
                hooks=[budget.hook],
            )
            api = OrgApi(
                client, budget, backoff=Backoff(attempts=2, sleep=lambda _: None), bulk_threshold=1
            )
            proxy.add(Rule("hang", every=True))
            outcome: dict[str, object] = {}

            def calls() -> None:
                try:
                    api.update(
                        "Lead", [{"Id": lead["Id"], "Rating": "Cold"}] * 2, AUTO_ASSIGN_FALSE
                    )
                except TransientError as problem:
                    outcome["bulk"] = problem.code
                outcome["convert"] = api.convert(
                    [{"leadId": lead["Id"], "convertedStatus": "Closed - Converted"}]
                )

            worker = threading.Thread(target=calls, daemon=True)
            worker.start()
            # An upper bound against a hang: 2 tries of the job's first request, then 2 tries
            # of the conversion and 3 looks for it, each at most READ_TIMEOUT.
            worker.join(timeout=READ_TIMEOUT * 7 + 60)
            assert not worker.is_alive(), "a call was not bounded"
            state.close()
    assert outcome["bulk"] == "READ_TIMEOUT"
    [converted] = outcome["convert"]  # type: ignore[misc]
    assert (converted.code, converted.transient) == ("ANSWER_LOST", True)
    assert proxy.count(lambda m, p, b: "/jobs/ingest" in p) == 2
